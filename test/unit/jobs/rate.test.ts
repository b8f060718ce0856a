import { describe, expect, it } from 'vitest';
import { RateMeter } from '../../../main/jobs/rate.js';

describe('rate and ETA', () => {
  it('by bytes, over the last five seconds: a slow start does not weigh on the ETA', () => {
    let now = 0;
    const meter = new RateMeter(() => now);
    meter.update('copy', 0, 100);
    now = 10_000;
    meter.update('copy', 10, 100);
    now = 12_000;
    meter.update('copy', 30, 100);
    now = 14_000;
    const p = meter.update('copy', 50, 100);
    // 40 units in the last 4 s: 10 a second, 5 s left.
    expect(p).toMatchObject({ rate: 10, eta: 5 });
  });

  it('by entries, over the whole phase: one slow archive does not leave the ETA unknown', () => {
    let now = 0;
    const phase = new RateMeter(() => now);
    const recent = new RateMeter(() => now);
    const both = (done: number): [ReturnType<RateMeter['update']>, ReturnType<RateMeter['update']>] => [phase.update('indexing', done, 10, Infinity), recent.update('indexing', done, 10)];
    both(0);
    now = 20_000;
    both(2);
    // Nothing finished for 10 s: the last seconds say nothing, the phase's average still does.
    now = 30_000;
    const [p, r] = both(2);
    expect(p.rate).toBeCloseTo(2 / 30);
    expect(p.eta).toBeCloseTo(120);
    expect(r).toMatchObject({ rate: 0, eta: null });
  });
});
