import type { JobProgress } from '../../shared/jobs.js';
import { humanBytes } from './format.js';

export type ProgressMode = 'json' | 'bar' | 'none';

export function progressMode(option: string | undefined): ProgressMode {
  if (option === 'json' || option === 'bar' || option === 'none') return option;
  return process.stderr.isTTY ? 'bar' : 'none';
}

/** Progress goes to stderr: stdout may be carrying the disk itself. */
export function progressPrinter(mode: ProgressMode): { update(p: JobProgress): void; finish(): void } {
  let drawn = false;
  return {
    update(p) {
      if (mode === 'json') process.stderr.write(`${JSON.stringify(p)}\n`);
      else if (mode === 'bar') {
        process.stderr.write(`\r${bar(p)}`);
        drawn = true;
      }
    },
    finish() {
      if (drawn) process.stderr.write('\n');
    },
  };
}

function bar(p: JobProgress): string {
  const fraction = p.totalBytes > 0 ? Math.min(1, p.doneBytes / p.totalBytes) : 1;
  const width = 30;
  const filled = Math.round(fraction * width);
  const eta = p.eta === null ? '' : ` ETA ${formatSeconds(p.eta)}`;
  return `${p.phase} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${humanBytes(p.doneBytes)}/${humanBytes(p.totalBytes)} ${humanBytes(p.rate)}/s${eta}   `;
}

function formatSeconds(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}
