import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rebuildDescriptor } from '../../../main/convert/rebuild-descriptor.js';
import { openChain } from '../../../main/disk/chain.js';
import { startJob } from '../../../main/jobs/engine.js';
import { buildCowd } from '../../fixtures/cowd-builder.js';
import { buildSeSparse } from '../../fixtures/sesparse-builder.js';
import { expectSameAsRaw } from '../../helpers/compare.js';
import { qemuFill, qemuImg, qemuRaw, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const SECTOR = 512;

const root = tmpDir('diskchain-rebuild-');
let n = 0;
const folder = (): string => {
  const d = path.join(root, String(n++));
  fs.mkdirSync(d);
  return d;
};

/** A 72 MiB qemu disk with data in its first and last 32 MiB, and its raw content. */
function source(dir: string): { src: string; raw: string } {
  const src = path.join(dir, 'orig.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', src, '72M');
  qemuWrite(src, MiB + 512, patternBytes(MiB, 3));
  qemuFill(src, 70 * MiB, MiB, 0x42);
  return { src, raw: qemuRaw(src) };
}

/** The rebuilt disk opens in Diskchain and in qemu-img and reads as the original did. */
function expectOpensAs(descriptor: string, raw: string): void {
  const chain = openChain(descriptor);
  try {
    expectSameAsRaw(chain, raw);
  } finally {
    chain.close();
  }
  const theirs = qemuRaw(descriptor, 'vmdk');
  expect(fs.readFileSync(theirs).equals(fs.readFileSync(raw))).toBe(true);
}

async function convert(src: string, dst: string, to: 'twoGbMaxExtentSparse' | 'twoGbMaxExtentFlat' | 'vmfs'): Promise<void> {
  await startJob({ kind: 'convert', src, dst, to, segmentBytes: 32 * MiB }).done;
}

describe('rebuild-descriptor', () => {
  it('rebuilds a Workstation split sparse set from any of its extents, sizes and order from their headers', async () => {
    const dir = folder();
    const { src, raw } = source(dir);
    await convert(src, path.join(dir, 'ws.vmdk'), 'twoGbMaxExtentSparse');
    fs.rmSync(path.join(dir, 'ws.vmdk'));
    const result = rebuildDescriptor(path.join(dir, 'ws-s002.vmdk'));
    expect(result).toMatchObject({ descriptor: path.join(dir, 'ws.vmdk'), createType: 'twoGbMaxExtentSparse', extents: ['ws-s001.vmdk', 'ws-s002.vmdk', 'ws-s003.vmdk'] });
    expect(fs.readFileSync(result.descriptor, 'utf8')).toContain('RW 16384 SPARSE "ws-s003.vmdk"');
    expectOpensAs(result.descriptor, raw);
  });

  it('names a gap in a split set', async () => {
    const dir = folder();
    const { src } = source(dir);
    await convert(src, path.join(dir, 'gap.vmdk'), 'twoGbMaxExtentSparse');
    fs.rmSync(path.join(dir, 'gap.vmdk'));
    fs.rmSync(path.join(dir, 'gap-s002.vmdk'));
    expect(() => rebuildDescriptor(path.join(dir, 'gap-s001.vmdk'))).toThrow(/gap-s002\.vmdk|missing from the split set/);
  });

  it('rebuilds a -fNNN flat split set', async () => {
    const dir = folder();
    const { src, raw } = source(dir);
    await convert(src, path.join(dir, 'fs.vmdk'), 'twoGbMaxExtentFlat');
    fs.rmSync(path.join(dir, 'fs.vmdk'));
    const result = rebuildDescriptor(path.join(dir, 'fs-f001.vmdk'));
    expect(result.createType).toBe('twoGbMaxExtentFlat');
    expect(result.extents).toHaveLength(3);
    expectOpensAs(result.descriptor, raw);
  });

  it('rebuilds an ESX -flat.vmdk as vmfs with the geometry of the adapter (lsilogic by default)', async () => {
    const dir = folder();
    const { src, raw } = source(dir);
    await convert(src, path.join(dir, 'esx.vmdk'), 'vmfs');
    fs.rmSync(path.join(dir, 'esx.vmdk'));
    const result = rebuildDescriptor(path.join(dir, 'esx-flat.vmdk'));
    const text = fs.readFileSync(result.descriptor, 'utf8');
    expect(text).toContain('createType="vmfs"');
    expect(text).toContain('RW 147456 VMFS "esx-flat.vmdk"');
    expect(text).toContain('ddb.adapterType = "lsilogic"');
    // VMware's SCSI geometry below 1 GiB: 64 heads, 32 sectors.
    expect(text).toContain('ddb.geometry.heads = "64"');
    expectOpensAs(result.descriptor, raw);
    const ide = rebuildDescriptor(path.join(dir, 'esx-flat.vmdk'), { adapter: 'ide', out: path.join(dir, 'esx-ide.vmdk') });
    expect(fs.readFileSync(ide.descriptor, 'utf8')).toContain('ddb.geometry.heads = "16"');
  });

  it('never replaces an existing file', async () => {
    const dir = folder();
    const flat = path.join(dir, 'keep-flat.vmdk');
    fs.writeFileSync(flat, Buffer.alloc(MiB));
    fs.writeFileSync(path.join(dir, 'keep.vmdk'), 'mine');
    expect(() => rebuildDescriptor(flat)).toThrow(/already exists: rebuild-descriptor never replaces a file/);
    expect(fs.readFileSync(path.join(dir, 'keep.vmdk'), 'utf8')).toBe('mine');
  });

  it('rebuilds a -delta.vmdk as the child of the disk beside it, with its CID', async () => {
    const dir = folder();
    const base = path.join(dir, 'vm.vmdk');
    const capacity = 8 * MiB;
    // An ESX base: descriptor + flat, patterned; the delta changes two ranges.
    const baseBytes = patternBytes(capacity, 7);
    fs.writeFileSync(path.join(dir, 'vm-flat.vmdk'), baseBytes);
    rebuildDescriptor(path.join(dir, 'vm-flat.vmdk'));
    const baseCid = openChain(base).top.descriptor!.cid!;
    const writes = [
      { lba: 64, data: patternBytes(64 * 1024, 8) },
      { lba: 9000, data: patternBytes(SECTOR * 5, 9) },
    ];
    buildCowd(path.join(dir, 'vm-000001-delta.vmdk'), { capacitySectors: capacity / SECTOR, writes });
    const result = rebuildDescriptor(path.join(dir, 'vm-000001-delta.vmdk'));
    expect(result.parent).toBe(base);
    const text = fs.readFileSync(result.descriptor, 'utf8');
    expect(text).toContain(`parentCID=${baseCid.toString(16).padStart(8, '0')}`);
    expect(text).toContain('parentFileNameHint="vm.vmdk"');
    expect(text).toContain('createType="vmfsSparse"');
    const expected = Buffer.from(baseBytes);
    for (const w of writes) w.data.copy(expected, w.lba * SECTOR);
    const raw = path.join(dir, 'expected.raw');
    fs.writeFileSync(raw, expected);
    expectOpensAs(result.descriptor, raw);
  });

  it('rebuilds a -sesparse.vmdk as the child of the disk beside it that is not its own child', async () => {
    const dir = folder();
    const capacity = 8 * MiB;
    fs.writeFileSync(path.join(dir, 'se-flat.vmdk'), patternBytes(capacity, 11));
    rebuildDescriptor(path.join(dir, 'se-flat.vmdk'));
    const grains: Array<[number, Buffer]> = [[3, patternBytes(4096, 12)], [1000, patternBytes(4096, 13)]];
    buildSeSparse(path.join(dir, 'se-000001-sesparse.vmdk'), { capacitySectors: capacity / SECTOR, data: grains });
    // A later snapshot that names the lost descriptor as its parent must not be taken for the parent.
    fs.writeFileSync(
      path.join(dir, 'se-000002.vmdk'),
      `# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=fffffffe\ncreateType="vmfsSparse"\nparentFileNameHint="se-000001.vmdk"\n\nRW ${capacity / SECTOR} VMFSSPARSE "se-000002-delta.vmdk"\n`,
    );
    const result = rebuildDescriptor(path.join(dir, 'se-000001-sesparse.vmdk'));
    expect(result.parent).toBe(path.join(dir, 'se.vmdk'));
    expect(result.createType).toBe('seSparse');
    const expected = patternBytes(capacity, 11);
    for (const [g, data] of grains) data.copy(expected, g * 4096);
    const raw = path.join(dir, 'expected.raw');
    fs.writeFileSync(raw, expected);
    expectOpensAs(result.descriptor, raw);
  });
});
