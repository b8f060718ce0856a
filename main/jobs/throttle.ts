/**
 * The one progress throttle: job workers report every chunk, and whoever shows progress (the
 * CLI's bar or JSON lines, the desktop's jobs:progress events) passes it through this, so an
 * update goes out at once, later ones at most every PROGRESS_MS, and the newest is never lost.
 */
export const PROGRESS_MS = 100;

export interface Throttle<T> {
  update(value: T): void;
  /** Sends the pending update now. */
  flush(): void;
  /** Drops the pending update and the timer. */
  stop(): void;
}

export function throttle<T>(send: (value: T) => void, intervalMs = PROGRESS_MS): Throttle<T> {
  let lastSent = -Infinity;
  let pending: { value: T } | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (!pending) return;
    const { value } = pending;
    pending = null;
    lastSent = Date.now();
    send(value);
  };
  return {
    update(value) {
      pending = { value };
      const wait = intervalMs - (Date.now() - lastSent);
      if (wait <= 0) flush();
      else timer ??= setTimeout(flush, wait);
    },
    flush,
    stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      pending = null;
    },
  };
}
