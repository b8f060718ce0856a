import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bufferDevice } from '../../../main/guest/block-device.js';
import { diffGuest, type DiffItem } from '../../../main/guest/diff.js';
import { fatDriver } from '../../../main/guest/fat/index.js';
import type { GuestFileSystem } from '../../../main/guest/types.js';
import type { WalkProblem } from '../../../main/guest/walk.js';
import { fatStates, mtools } from '../../helpers/fat-states.js';
import { tmpDir } from '../../helpers/tmp.js';

const dir = tmpDir('diskchain-diff-');
const states = fatStates(dir);
const open = (file: string): GuestFileSystem => fatDriver.open(bufferDevice(fs.readFileSync(file), file));

function diff(a: GuestFileSystem, b: GuestFileSystem, content = false, onProblem?: (p: WalkProblem) => void): DiffItem[] {
  return [...diffGuest(a, a.root(), b, b.root(), '/', { content, ...(onProblem ? { onProblem } : {}) })];
}
const brief = (items: DiffItem[]): string[] => items.map((i) => `${i.change} ${i.path}${i.reasons.length ? ` ${i.reasons.join(',')}` : ''}`).sort();

describe('diffGuest on FAT32 volumes built by mkfs.vfat + mtools', () => {
  const before = open(states.before);
  const after = open(states.after);

  it('lists what was added, changed (size, mtime) and removed, folders with their contents', () => {
    expect(brief(diff(before, after))).toEqual([
      'added /logs/b.log',
      'added /new',
      'added /new/deep',
      'added /new/deep/x.txt',
      'changed /etc/app.conf size,mtime',
      'removed /old',
      'removed /old/one.txt',
      'removed /old/two.txt',
    ]);
  });

  it('gives both sides of a change', () => {
    const conf = diff(before, after).find((i) => i.path === '/etc/app.conf')!;
    expect(conf.before).toEqual({ type: 'file', size: 8, mtimeMs: Date.parse('2024-03-01T10:00:00Z') });
    expect(conf.after).toEqual({ type: 'file', size: 20, mtimeMs: Date.parse('2024-05-02T12:30:00Z') });
    const removed = diff(before, after).find((i) => i.path === '/old/one.txt')!;
    expect(removed).toMatchObject({ change: 'removed', after: null, before: { type: 'file', size: 4 } });
  });

  it('compares bytes only when asked: same size and time, other content', () => {
    expect(brief(diff(before, after)).some((l) => l.includes('/logs/a.log'))).toBe(false);
    expect(brief(diff(before, after, true))).toContain('changed /logs/a.log content');
  });

  it('reverses: after → before swaps added and removed', () => {
    expect(brief(diff(after, before))).toEqual([
      'added /old',
      'added /old/one.txt',
      'added /old/two.txt',
      'changed /etc/app.conf size,mtime',
      'removed /logs/b.log',
      'removed /new',
      'removed /new/deep',
      'removed /new/deep/x.txt',
    ]);
  });

  it('finds nothing between a volume and itself, contents compared', () => {
    expect(diff(before, open(states.before), true)).toEqual([]);
  });

  it('a file that became a folder is a removal and an addition', () => {
    const swapped = `${dir}/swapped.bin`;
    fs.copyFileSync(states.before, swapped);
    mtools('mdel', '-i', swapped, '::/readme.txt');
    mtools('mmd', '-i', swapped, '::/readme.txt');
    expect(brief(diff(before, open(swapped)))).toEqual(['added /readme.txt', 'removed /readme.txt']);
  });

  it('a folder that cannot be listed on one side is reported and the rest is still compared', () => {
    const bytes = fs.readFileSync(states.after);
    // The root's short entry for LOGS now starts its folder at a cluster past the end of the volume.
    const at = bytes.indexOf(Buffer.from('LOGS       ', 'latin1'));
    expect(at).toBeGreaterThan(0);
    bytes.writeUInt16LE(0x0fff, at + 20);
    bytes.writeUInt16LE(0xff00, at + 26);
    const problems: WalkProblem[] = [];
    const items = diff(before, fatDriver.open(bufferDevice(bytes, 'damaged.bin')), false, (p) => problems.push(p));
    expect(problems.map((p) => p.path)).toEqual(['/logs']);
    expect(problems[0]!.message).toMatch(/^\/logs \(after\): /);
    expect(brief(items)).toContain('changed /etc/app.conf size,mtime');
    expect(brief(items)).toContain('removed /old');
  });
});
