/**
 * Chains open through any FileSource (issue 9): the same files served from memory, under a path
 * that does not exist on this machine, resolve and read exactly as they do from the host.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain, type Chain } from '../../../main/disk/chain.js';
import { MemoryFiles } from '../../../main/io/memory-source.js';
import { buildEsx2Chain } from '../../fixtures/cowd-builder.js';
import { expectSameAsRaw } from '../../helpers/compare.js';
import { qemuFill, qemuImg, qemuRaw } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

/** Every file of a host folder, placed under `mount` in memory. */
function inMemory(dir: string, mount: string): MemoryFiles {
  return new MemoryFiles(fs.readdirSync(dir).map((name) => [path.posix.join(mount, name), fs.readFileSync(path.join(dir, name))] as [string, Buffer]));
}

function readAll(chain: Chain): Buffer {
  const out = Buffer.alloc(chain.capacityBytes);
  chain.read(out, 0);
  return out;
}

describe('chains through a second file source', () => {
  const root = tmpDir();

  it('opens a hosted child over a split sparse base from memory, byte-equal to qemu-img', () => {
    const dir = path.join(root, 'hosted');
    fs.mkdirSync(dir);
    const base = path.join(dir, 'base.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', base, '8M');
    qemuFill(base, 0, 3 * MiB, 0x61);
    const child = path.join(dir, 'child.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', child);
    qemuFill(child, 2 * MiB, 2 * MiB, 0x62);
    const raw = qemuRaw(child);
    fs.renameSync(raw, path.join(root, 'hosted.raw'));

    const mount = '/no-such-volume/vm';
    expect(fs.existsSync(mount)).toBe(false);
    const chain = openChain(`${mount}/child.vmdk`, { source: inMemory(dir, mount) });
    try {
      expect(chain.links.map((l) => l.path)).toEqual([`${mount}/child.vmdk`, `${mount}/base.vmdk`]);
      expect(chain.links[1]!.extents.map((e) => e.path)).toEqual([`${mount}/base-s001.vmdk`]);
      expectSameAsRaw(chain, path.join(root, 'hosted.raw'));
    } finally {
      chain.close();
    }
  });

  it('finds ESX 2 REDO parents by name in memory', () => {
    const dir = path.join(root, 'esx2');
    fs.mkdirSync(dir);
    const { expected } = buildEsx2Chain(dir, 8 * MiB);
    const chain = openChain('/mem/a.dsk.REDO.REDO', { source: inMemory(dir, '/mem') });
    try {
      expect(chain.links.map((l) => path.basename(l.path))).toEqual(['a.dsk.REDO.REDO', 'a.dsk.REDO', 'a.dsk']);
      expect(readAll(chain).equals(expected)).toBe(true);
    } finally {
      chain.close();
    }
  });

  it('names the path in the source when a parent is missing there', () => {
    const dir = path.join(root, 'missing');
    fs.mkdirSync(dir);
    buildEsx2Chain(dir, 8 * MiB);
    const files = inMemory(dir, '/mem');
    const only = new MemoryFiles([['/mem/a.dsk.REDO', fs.readFileSync(path.join(dir, 'a.dsk.REDO'))]]);
    expect(files.stat('/mem/a.dsk')?.kind).toBe('file');
    expect(() => openChain('/mem/a.dsk.REDO', { source: only })).toThrow(/parent "a\.dsk" not found/);
  });
});
