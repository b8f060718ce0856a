import type { JobProgress } from '../../shared/jobs.js';

const WINDOW_MS = 5000;

/** Rate over the last few seconds (not since the start, so a slow first phase does not skew ETA). */
export class RateMeter {
  private samples: Array<{ t: number; done: number }> = [];
  private phase = '';

  constructor(private readonly now: () => number = Date.now) {}

  update(phase: string, doneBytes: number, totalBytes: number): JobProgress {
    const t = this.now();
    if (phase !== this.phase) {
      this.phase = phase;
      this.samples = [];
    }
    this.samples.push({ t, done: doneBytes });
    while (this.samples.length > 2 && t - this.samples[0]!.t > WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const seconds = (t - first.t) / 1000;
    const rate = seconds > 0 ? (doneBytes - first.done) / seconds : 0;
    const eta = rate > 0 ? Math.max(0, (totalBytes - doneBytes) / rate) : doneBytes >= totalBytes ? 0 : null;
    return { phase, doneBytes, totalBytes, rate, eta };
  }
}
