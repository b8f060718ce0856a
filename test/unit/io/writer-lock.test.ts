import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockFiles, lockFilesOf } from '../../../main/io/writer-lock.js';
import { tmpDir } from '../../helpers/tmp.js';

function errorOf(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected an error');
}

function lockOf(file: string, holder: object): void {
  fs.writeFileSync(path.join(path.dirname(file), `.${path.basename(file)}.diskchain-lock`), JSON.stringify(holder));
}

describe('writer locks', () => {
  const dir = tmpDir();
  const disk = path.join(dir, 'web01.vmdk');
  fs.writeFileSync(disk, 'x');

  it('one writer at a time; readers share, and exclude writers', async () => {
    const first = lockFiles({ job: 'commit', writes: [disk], reads: [] });
    expect(errorOf(() => lockFiles({ job: 'snapshot', writes: [disk], reads: [] }))).toMatchObject({
      code: 'E_BUSY',
      message: expect.stringMatching(new RegExp(`^web01\\.vmdk is being written by commit \\(pid ${process.pid}, since \\d\\d:\\d\\d\\); wait for it to finish, or cancel it$`)),
    });
    expect(errorOf(() => lockFiles({ job: 'convert', writes: [], reads: [disk] })).code).toBe('E_BUSY');
    await first.release();
    expect(lockFilesOf(disk)).toEqual([]);

    const a = lockFiles({ job: 'convert', writes: [], reads: [disk] });
    const b = lockFiles({ job: 'convert', writes: [], reads: [disk] });
    expect(lockFilesOf(disk)).toHaveLength(2);
    expect(errorOf(() => lockFiles({ job: 'commit', writes: [disk], reads: [] })).message).toMatch(/^web01\.vmdk is being read by convert/);
    await a.release();
    await b.release();
    const c = lockFiles({ job: 'commit', writes: [disk], reads: [] });
    await c.release();
    expect(fs.readdirSync(dir)).toEqual(['web01.vmdk']);
  });

  it('takes over a lock whose pid is gone or now belongs to a later process, not one of another host', async () => {
    const holder = { host: os.hostname(), job: 'commit', startedAt: new Date().toISOString(), mode: 'write', token: 'a'.repeat(32), thread: 0 };
    lockOf(disk, { ...holder, pid: 2 ** 22 + 12345, procStart: null });
    await lockFiles({ job: 'commit', writes: [disk], reads: [] }).release();

    // pid 1 is alive, but it did not start at tick 1: the pid was reused.
    lockOf(disk, { ...holder, pid: 1, procStart: '1' });
    if (fs.existsSync('/proc/1/stat') && fs.readFileSync('/proc/1/stat', 'utf8').split(') ')[1]!.split(' ')[19] !== '1') {
      await lockFiles({ job: 'commit', writes: [disk], reads: [] }).release();
    }

    lockOf(disk, { ...holder, pid: 4242, host: 'nas.example', procStart: null });
    expect(errorOf(() => lockFiles({ job: 'commit', writes: [disk], reads: [] })).message).toBe(
      `web01.vmdk is being written by commit (pid 4242 on nas.example, since ${new Date(holder.startedAt).toTimeString().slice(0, 5)}); ` +
        `wait for it, or delete ${path.join(dir, '.web01.vmdk.diskchain-lock')} if that job no longer runs`,
    );
  });
});
