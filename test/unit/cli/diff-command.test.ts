import { describe, expect, it } from 'vitest';
import { diskchain } from '../../helpers/cli.js';
import { fatChain, fatStates } from '../../helpers/fat-states.js';
import { tmpDir } from '../../helpers/tmp.js';

const dir = tmpDir('diskchain-diff-cli-');
const states = fatStates(dir);
const { base, top } = fatChain(dir, 'web01', states);

describe('diskchain diff', () => {
  it('--at 0: what the child link changed over its parent, one line each', () => {
    const r = diskchain(['diff', top, '--at', '0']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.text.trimEnd().split('\n').sort()).toEqual([
      'A /logs/b.log',
      'A /new/',
      'A /new/deep/',
      'A /new/deep/x.txt',
      'D /old/',
      'D /old/one.txt',
      'D /old/two.txt',
      'M /etc/app.conf  (size 8 B → 20 B, mtime)',
    ]);
  });

  it('--content also finds a file whose size and time stayed; --json has both sides', () => {
    const r = diskchain(['diff', '--json', '--content', top, '--at', '0']);
    expect(r.status, r.stderr).toBe(0);
    const items = JSON.parse(r.text) as Array<{ path: string; change: string; reasons: string[]; before: unknown; after: unknown }>;
    expect(items.find((i) => i.path === '/logs/a.log')).toEqual({
      path: '/logs/a.log',
      change: 'changed',
      reasons: ['content'],
      before: { type: 'file', size: 11, mtimeMs: Date.parse('2024-03-01T10:00:00Z') },
      after: { type: 'file', size: 11, mtimeMs: Date.parse('2024-03-01T10:00:00Z') },
    });
    expect(items).toHaveLength(9);
  });

  it('two disks, and a folder of them: A (before) and B (after)', () => {
    const r = diskchain(['diff', `${base}:1/etc`, `${top}:1/etc`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.text).toBe('M /etc/app.conf  (size 8 B → 20 B, mtime)\n');
    expect(diskchain(['diff', top, base]).text.trimEnd().split('\n')).toHaveLength(8);
  });

  it('refuses the base (no parent), --at with two disks, and no --at, with one line each', () => {
    for (const [args, message] of [
      [['diff', top, '--at', '1'], /^diskchain: --at 1: link 1 is the base of the chain; it has no parent to compare with$/],
      [['diff', top, base, '--at', '0'], /^diskchain: give either --at N \(a link and its parent\) or two disks, not both$/],
      [['diff', top], /^diskchain: give --at N to compare a link with its parent, or a second disk$/],
    ] as const) {
      const r = diskchain([...args]);
      expect(r.status).toBe(2);
      expect(r.stderr.trimEnd().split('\n')[0]).toMatch(message);
    }
  });
});
