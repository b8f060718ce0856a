import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { bufferDevice, chainDevice } from '../../../main/guest/block-device.js';
import { extDriver } from '../../../main/guest/ext/index.js';
import { childWithChanges, run } from '../../fixtures/ext-builder.js';
import { diskchain } from '../../helpers/cli.js';
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

describe('diff --at N on ext4: folders the snapshot link did not write are not compared', () => {
  const work = tmpDir('diskchain-diff-ext-');
  const src = path.join(work, 'src');
  for (let d = 0; d < 20; d++) {
    fs.mkdirSync(path.join(src, `d${d}`, 'sub'), { recursive: true });
    for (let f = 0; f < 30; f++) fs.writeFileSync(path.join(src, `d${d}`, `f${f}.txt`), `folder ${d} file ${f}\n`);
    fs.writeFileSync(path.join(src, `d${d}`, 'sub', 'deep.txt'), `deep ${d}\n`);
    fs.utimesSync(path.join(src, `d${d}`, 'sub', 'deep.txt'), 1e9, 1e9);
  }
  const before = path.join(work, 'before.img');
  run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-d', src, before, '32M']);
  const after = path.join(work, 'after.img');
  fs.copyFileSync(before, after);
  fs.writeFileSync(path.join(work, 'new.txt'), 'a new file\n');
  // Three files changed: one removed, one added, one rewritten (longer) in a subfolder.
  run('debugfs', ['-w', '-f', '-', after], `rm /d3/f7.txt\nwrite ${path.join(work, 'new.txt')} /d11/new.txt\nrm /d17/sub/deep.txt\nwrite ${path.join(work, 'new.txt')} /d17/sub/deep.txt\n`);
  const base = path.join(work, 'base.vmdk');
  run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'vmdk', before, base]);
  const child = path.join(work, 'child.vmdk');
  childWithChanges(base, before, after, 0, child);

  const openAt = (file: string): { fs: GuestFileSystem; close: () => void } => {
    const chain = openChain(file);
    return { fs: extDriver.open(chainDevice(chain)), close: () => chain.close() };
  };

  it('gives the changes the full compare gives, comparing only the folders the link wrote', () => {
    const a = openAt(base);
    const b = openAt(child);
    try {
      const full = brief([...diffGuest(a.fs, a.fs.root(), b.fs, b.fs.root(), '/')]);
      expect(full).toEqual(['added /d11/new.txt', 'changed /d17/sub/deep.txt size,mtime', 'removed /d3/f7.txt']);
      const skipped: string[] = [];
      const quick = brief([...diffGuest(a.fs, a.fs.root(), b.fs, b.fs.root(), '/', { linkOnTop: true, onUnchanged: (p) => skipped.push(p) })]);
      expect(quick).toEqual(full);
      // The link writes whole 64 KiB grains: folders whose inodes share a grain of the inode table with a
      // changed inode are compared too (256 inodes a grain, so in this small tree about half of them).
      expect(skipped.length).toBeGreaterThanOrEqual(5);
      expect(skipped).not.toContain('/');
      for (const changed of ['/d3', '/d11', '/d17/sub']) expect(skipped).not.toContain(changed);
      // Not with --content, and not between two unrelated states.
      const none: string[] = [];
      expect(brief([...diffGuest(a.fs, a.fs.root(), b.fs, b.fs.root(), '/', { linkOnTop: true, content: true, onUnchanged: (p) => none.push(p) })])).toHaveLength(3);
      const base2 = openAt(base);
      expect([...diffGuest(base2.fs, base2.fs.root(), a.fs, a.fs.root(), '/', { linkOnTop: true, onUnchanged: (p) => none.push(p) })]).toEqual([]);
      base2.close();
      expect(none).toEqual([]);
    } finally {
      a.close();
      b.close();
    }
  });

  it('diskchain diff --at 0 prints the three changes', () => {
    const r = diskchain(['diff', child, '--at', '0']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.text.trim().split('\n').sort()).toEqual(['A /d11/new.txt', 'D /d3/f7.txt', 'M /d17/sub/deep.txt  (size 8 B → 11 B, mtime)']);
  });
});
