/**
 * Users copy and rename disks. A monolithicSparse file keeps naming its old self in its embedded
 * descriptor, and a descriptor renamed away from its extents still names them by their own names:
 * every writer must write the file the reader reads, never the name the descriptor carries.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { inlineContext } from '../../../main/io/job-context.js';
import { convertJob } from '../../../main/convert/convert.js';
import { commitJob } from '../../../main/mutate/commit.js';
import { extendJob } from '../../../main/mutate/extend.js';
import { snapshotJob } from '../../../main/mutate/snapshot.js';
import { qemuFill, qemuImg, qemuRaw } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const ctx = inlineContext();

/** A monolithicSparse base made by qemu-img as `made.vmdk`, then renamed to `name`. */
function renamedSparse(dir: string, name: string): string {
  const made = path.join(dir, 'made.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', made, '16M');
  qemuFill(made, 0, 4 * MiB, 0x11);
  const renamed = path.join(dir, name);
  fs.renameSync(made, renamed);
  expect(fs.readFileSync(renamed).includes('"made.vmdk"')).toBe(true);
  return renamed;
}

function contentOf(disk: string): Buffer {
  const raw = qemuRaw(disk);
  const bytes = fs.readFileSync(raw);
  fs.rmSync(raw);
  return bytes;
}

function subdir(root: string, name: string): string {
  const d = path.join(root, name);
  fs.mkdirSync(d);
  return d;
}

describe('writers on renamed disks', () => {
  const root = tmpDir();

  it('commit folds a child into a monolithicSparse parent that was renamed', async () => {
    const dir = subdir(root, 'commit');
    const base = renamedSparse(dir, 'web01.vmdk');
    const child = path.join(dir, 'web01-000001.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'web01.vmdk', '-F', 'vmdk', child);
    qemuFill(child, 2 * MiB, 4 * MiB, 0x22);
    const expected = contentOf(child);
    await commitJob({ kind: 'commit', top: child }, ctx);
    expect(fs.existsSync(child)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'made.vmdk'))).toBe(false);
    expect(contentOf(base).equals(expected)).toBe(true);
  });

  it('snapshot then commit round-trips on a renamed monolithicSparse base', async () => {
    const dir = subdir(root, 'snapshot');
    const base = renamedSparse(dir, 'db01.vmdk');
    const before = contentOf(base);
    const made = await snapshotJob({ kind: 'snapshot', disk: base }, ctx);
    const child = made.outputs[0]!;
    qemuFill(child, 8 * MiB, MiB, 0x33);
    const expected = contentOf(child);
    expect(expected.equals(before)).toBe(false);
    await commitJob({ kind: 'commit', top: child }, ctx);
    expect(contentOf(base).equals(expected)).toBe(true);
  });

  it('extend grows a renamed monolithicSparse in place', async () => {
    const dir = subdir(root, 'extend');
    const base = renamedSparse(dir, 'app01.vmdk');
    const before = contentOf(base);
    await extendJob({ kind: 'extend', disk: base, sizeBytes: 32 * MiB }, ctx);
    const after = contentOf(base);
    expect(after.length).toBe(32 * MiB);
    expect(after.subarray(0, before.length).equals(before)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'made.vmdk'))).toBe(false);
    qemuImg('check', base);
  });

  it('commit writes into the extents a renamed split descriptor names, and extend adds beside them', async () => {
    const dir = subdir(root, 'split');
    const made = path.join(dir, 'split.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', made, '16M');
    qemuFill(made, 0, 4 * MiB, 0x44);
    const renamed = path.join(dir, 'renamed.vmdk');
    fs.renameSync(made, renamed);
    const child = path.join(dir, 'renamed-000001.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'renamed.vmdk', '-F', 'vmdk', child);
    qemuFill(child, MiB, MiB, 0x55);
    const expected = contentOf(child);
    await commitJob({ kind: 'commit', top: child }, ctx);
    expect(contentOf(renamed).equals(expected)).toBe(true);
    await extendJob({ kind: 'extend', disk: renamed, sizeBytes: 24 * MiB }, ctx);
    const grown = contentOf(renamed);
    expect(grown.subarray(0, expected.length).equals(expected)).toBe(true);
    expect(grown.length).toBe(24 * MiB);
  });

  it('convert reads a renamed monolithicSparse and names only the file it read as its source', async () => {
    const dir = subdir(root, 'convert');
    const base = renamedSparse(dir, 'mail.vmdk');
    const out = path.join(dir, 'out.vmdk');
    await convertJob({ kind: 'convert', src: base, dst: out, to: 'vmfs' }, ctx);
    expect(contentOf(out).equals(contentOf(base))).toBe(true);
    const chain = openChain(base);
    try {
      expect(chain.top.extents.map((e) => e.path)).toEqual([base]);
    } finally {
      chain.close();
    }
  });
});
