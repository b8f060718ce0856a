import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unlinkBehind } from '../../../main/io/unlink-behind.js';
import { builtEngine } from '../../helpers/dist.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

/** Processes that hold `file` open after its name is gone. */
function holdersOf(file: string): number[] {
  const holders: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === `${file} (deleted)`) holders.push(Number(pid));
      } catch {
        // gone meanwhile
      }
    }
  }
  return holders;
}

async function until(ok: () => boolean, ms = 5000): Promise<boolean> {
  for (const start = Date.now(); Date.now() - start < ms; await new Promise((r) => setTimeout(r, 20))) if (ok()) return true;
  return ok();
}

describe('unlinkBehind: the name goes at once, the pages are freed by a child after the result', () => {
  const dir = tmpDir();

  it('removes a large file name at once and leaves it to a child that lets go when its parent ends', async () => {
    const big = path.join(dir, 'big.REDO');
    fs.writeFileSync(big, Buffer.alloc(64 * MiB, 1));
    const script = path.join(dir, 'unlink.mjs');
    fs.writeFileSync(
      script,
      [
        `import { unlinkBehind } from ${JSON.stringify(builtEngine('io/unlink-behind.js'))};`,
        'import * as fs from "node:fs";',
        'unlinkBehind(process.argv[2]);',
        'console.log(fs.existsSync(process.argv[2]) ? "still there" : "gone");',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, [script, big], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('gone');
    // The process has ended: its pipe closed, so the child lets go too (and nothing keeps the file).
    expect(await until(() => holdersOf(big).length === 0)).toBe(true);
  });

  it('holds a large file in a child while the process lives', () => {
    const big = path.join(dir, 'held.bin');
    fs.writeFileSync(big, Buffer.alloc(64 * MiB, 2));
    unlinkBehind(big);
    expect(fs.existsSync(big)).toBe(false);
    const holders = holdersOf(big);
    expect(holders).toHaveLength(1);
    expect(holders[0]).not.toBe(process.pid);
  });

  it('unlinks a small file plainly, and fails like unlink on a missing one', () => {
    const small = path.join(dir, 'small.vmdk');
    fs.writeFileSync(small, 'x');
    unlinkBehind(small);
    expect(fs.existsSync(small)).toBe(false);
    expect(holdersOf(small)).toEqual([]);
    expect(() => unlinkBehind(small)).toThrow(/ENOENT/);
  });
});
