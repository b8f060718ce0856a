import type { JobProgress } from '../../shared/jobs.js';

const WINDOW_MS = 5000;

/** Rate over the last few seconds (not since the start, so a slow first phase does not skew ETA). */
export class RateMeter {
  private samples: Array<{ t: number; done: number }> = [];
  private phase = '';

  constructor(private readonly now: () => number = Date.now) {}

  /** `windowMs`: how far back the rate looks (Infinity: since the phase began). */
  update(phase: string, doneBytes: number, totalBytes: number, windowMs = WINDOW_MS): JobProgress {
    const t = this.now();
    if (phase !== this.phase) {
      this.phase = phase;
      this.samples = [];
    }
    this.samples.push({ t, done: doneBytes });
    while (this.samples.length > 2 && t - this.samples[0]!.t > windowMs) this.samples.shift();
    // Since the phase began, only its first sample counts: keep memory flat over a long phase.
    if (windowMs === Infinity && this.samples.length > 2) this.samples.splice(1, this.samples.length - 2);
    const first = this.samples[0]!;
    const seconds = (t - first.t) / 1000;
    const rate = seconds > 0 ? (doneBytes - first.done) / seconds : 0;
    const eta = rate > 0 ? Math.max(0, (totalBytes - doneBytes) / rate) : doneBytes >= totalBytes ? 0 : null;
    return { phase, doneBytes, totalBytes, rate, eta };
  }
}
