import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferDevice, readBytes } from '../../../main/guest/block-device.js';
import { parseMetadataText } from '../../../main/guest/lvm/metadata-text.js';
import { readPhysicalVolume } from '../../../main/guest/lvm/index.js';
import { openVolume, readVolumes } from '../../../main/guest/volumes.js';
import { metadataText, pvHeaderBytes, type VgSpec } from '../../fixtures/lvm-builder.js';
import { blankDisk, ext4Image, fatImage, MiB, run, writeAt } from '../../helpers/guest-images.js';
import { vmdkDevice } from '../../helpers/guest-devices.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const dir = tmpDir('diskchain-lvm-');
const device = vmdkDevice;

const EXTENT = 4 * MiB;
const PE_START = MiB;
const PART = [2048 * 512, (2048 + 98304) * 512];
const PART_SIZE = 48 * MiB;

const vg = (seqno: number, lvs: VgSpec['lvs']): VgSpec => ({
  name: 'vg0',
  uuid: 'VGuuid0123456789abcdefghijklmnop',
  seqno,
  extentSectors: EXTENT / 512,
  peStartSectors: PE_START / 512,
  pvs: [
    { uuid: 'PV0uuid0123456789abcdefghijklmno', size: PART_SIZE },
    { uuid: 'PV1uuid0123456789abcdefghijklmno', size: PART_SIZE },
  ],
  lvs,
});

const LVS: VgSpec['lvs'] = [
  // Linear in two segments on two PVs.
  { name: 'root', segments: [{ extents: 2, stripes: [[0, 1]] }, { extents: 1, stripes: [[1, 0]] }] },
  // Two stripes of 64 KiB.
  { name: 'data', segments: [{ extents: 4, stripes: [[0, 5], [1, 3]], stripeSizeSectors: 128 }] },
  { name: 'pool', segments: [{ extents: 1, stripes: [], type: 'thin-pool', extra: 'metadata = "pool_tmeta"\npool = "pool_tdata"' }] },
  { name: 'thin1', segments: [{ extents: 2, stripes: [], type: 'thin', extra: 'thin_pool = "pool"\ntransaction_id = 1' }] },
  { name: 'mirrored', segments: [{ extents: 1, stripes: [], type: 'raid1', extra: 'region_size = 4096' }] },
  { name: 'snap', segments: [{ extents: 1, stripes: [[1, 8]] }] },
  { name: 'snapshot0', visible: false, segments: [{ extents: 3, stripes: [], type: 'snapshot', extra: 'chunk_size = 8\norigin = "root"\ncow_store = "snap"' }] },
  { name: 'hidden_tmeta', visible: false, segments: [{ extents: 1, stripes: [[0, 9]] }] },
];

/** Where LV byte `at` of a two-stripe segment lies: stripe (at / chunk) % 2, row (at / chunk) / 2 (lvm2's striped mapping). */
function stripeOf(at: number, chunk: number): { stripe: number; offset: number } {
  const n = Math.floor(at / chunk);
  return { stripe: n % 2, offset: Math.floor(n / 2) * chunk + (at % chunk) };
}

describe('LVM2 volume groups', () => {
  const raw = blankDisk(path.join(dir, 'lvm.img'), 112 * MiB);
  run('sgdisk', ['-n', '1:2048:+48M', '-t', '1:8e00', '-n', '2:0:+48M', '-t', '2:8e00', '-c', '2:pv1', raw]);
  // pv0 holds the newest metadata (seqno 5); pv1 an older copy without "data".
  writeAt(raw, PART[0]!, pvHeaderBytes(vg(5, LVS), 0, metadataText(vg(5, LVS))));
  const old = vg(4, LVS.filter((l) => l.name !== 'data'));
  writeAt(raw, PART[1]!, pvHeaderBytes(old, 1, metadataText(old)));
  const pvExtent = (pv: number, extent: number): number => PART[pv]! + PE_START + extent * EXTENT;
  // root: ext4 spread over pv0 extents 1–2 and pv1 extent 0.
  const rootFs = fs.readFileSync(ext4Image(dir, 'root.ext4', 3 * EXTENT, 'lvroot', '2b7f3e0c-0000-4000-8000-00000000000a'));
  writeAt(raw, pvExtent(0, 1), rootFs.subarray(0, 2 * EXTENT));
  writeAt(raw, pvExtent(1, 0), rootFs.subarray(2 * EXTENT));
  // data: 16 MiB of pattern striped in 64 KiB chunks over pv0 @5 and pv1 @3.
  const dataLv = patternBytes(4 * EXTENT, 7);
  const chunk = 64 * 1024;
  const stripes = [Buffer.alloc(2 * EXTENT), Buffer.alloc(2 * EXTENT)];
  for (let at = 0; at < dataLv.length; at += chunk) {
    const { stripe, offset } = stripeOf(at, chunk);
    dataLv.copy(stripes[stripe]!, offset, at, at + chunk);
  }
  writeAt(raw, pvExtent(0, 5), stripes[0]!);
  writeAt(raw, pvExtent(1, 3), stripes[1]!);
  const dev = device(raw);

  it('lists both PVs and the visible LVs of the newest metadata, with the file system in root', () => {
    const disk = readVolumes(dev);
    expect(disk.volumes.map((v) => v.index)).toEqual([1, 2, 'vg0/root', 'vg0/data', 'vg0/pool', 'vg0/thin1', 'vg0/mirrored', 'vg0/snap']);
    expect(disk.volumes.slice(0, 2).map((v) => v.content)).toEqual(['LVM2 PV (VG vg0)', 'LVM2 PV (VG vg0)']);
    expect(disk.notes).toContain('VG vg0: metadata copies differ (seqno 4 and 5); the newest is read');
    expect(disk.volumes[2]).toMatchObject({ scheme: 'lvm', type: 'LVM linear', size: 3 * EXTENT, fileSystem: 'ext4', label: 'lvroot' });
    expect(disk.volumes[3]).toMatchObject({ type: 'LVM striped', size: 4 * EXTENT, fileSystem: null });
  });

  it('reads a linear LV across segments on two PVs', () => {
    const { device: lv } = openVolume(dev, 'root');
    expect(readBytes(lv, 0, lv.size).equals(rootFs)).toBe(true);
    // A read that straddles the segment boundary.
    expect(readBytes(lv, 2 * EXTENT - 100, 200).equals(rootFs.subarray(2 * EXTENT - 100, 2 * EXTENT + 100))).toBe(true);
  });

  it('reads a striped LV chunk by chunk from both PVs, whatever the read size', () => {
    const { device: lv } = openVolume(dev, 'vg0/data');
    expect(readBytes(lv, 0, lv.size).equals(dataLv)).toBe(true);
    expect(readBytes(lv, chunk - 7, 3 * chunk + 13).equals(dataLv.subarray(chunk - 7, 4 * chunk + 6))).toBe(true);
    expect(openVolume(dev, 'vg0-data').volume.index).toBe('vg0/data');
  });

  it('names thin, thin-pool, raid and snapshot LVs and refuses to read them, saying why', () => {
    const notes = Object.fromEntries(readVolumes(dev).volumes.filter((v) => v.scheme === 'lvm').map((v) => [v.name, v.notes[0] ?? null]));
    expect(notes).toEqual({
      root: null,
      data: null,
      pool: 'pool is a thin-pool LV: a thin pool holds thin LVs, not a file system',
      thin1: 'thin1 is a thin LV: thin LVs (their blocks are mapped by the thin pool) are not read yet',
      mirrored: 'mirrored is a raid1 LV: RAID LVs are not read yet',
      snap: 'snap is a snapshot of root (copy-on-write store); snapshot LVs are not read yet',
    });
    expect(() => openVolume(dev, 'thin1')).toThrow(/thin1 is a thin LV/);
    expect(() => openVolume(dev, 'snap')).toThrow(/snapshot of root/);
  });

  it('says which PV a VG misses when another disk holds it, and refuses the LVs that need it', () => {
    const onePv = path.join(dir, 'one-pv.img');
    blankDisk(onePv, 64 * MiB);
    run('sgdisk', ['-n', '1:2048:+48M', '-t', '1:8e00', onePv]);
    writeAt(onePv, PART[0]!, pvHeaderBytes(vg(5, LVS), 0, metadataText(vg(5, LVS))));
    const d = device(onePv);
    expect(readVolumes(d).notes).toContain('VG vg0: PV PV1uui-d012-3456-789a-bcde-fghi-jklmno not on this disk');
    expect(() => openVolume(d, 'root')).toThrow(/vg0\/root needs PV pv1, which is not on this disk/);
  });
});

describe('LVM2 physical volumes', () => {
  const single: VgSpec = { ...vg(9, [{ name: 'vfat', segments: [{ extents: 2, stripes: [[0, 0]] }] }]), pvs: [{ uuid: 'WHOLEuuid123456789abcdefghijklmn', size: 16 * MiB }] };

  function wholeDiskPv(name: string, options: Parameters<typeof pvHeaderBytes>[3] = {}): string {
    const raw = blankDisk(path.join(dir, name), 16 * MiB);
    writeAt(raw, 0, pvHeaderBytes(single, 0, metadataText(single), options));
    writeAt(raw, PE_START, fatImage(dir, `${name}.fat`, 2 * EXTENT, 12, 'INLV', '0000aaaa'));
    return raw;
  }

  it('reads a disk that is a PV without a partition table; pvck agrees on its headers and metadata', () => {
    const raw = wholeDiskPv('whole-pv.img');
    const headers = run('pvck', ['--dump', 'headers', raw]);
    expect(headers).not.toMatch(/CHECK:/);
    expect(headers).toMatch(/metadata text at \d+ crc 0x[0-9a-f]+ # vgname vg0 seqno 9/);
    const disk = readVolumes(device(raw));
    expect(disk.scheme).toBe('none');
    expect(disk.volumes.map((v) => [v.index, v.content, v.fileSystem, v.label])).toEqual([
      [1, 'LVM2 PV (VG vg0)', null, null],
      ['vg0/vfat', null, 'fat12', 'INLV'],
    ]);
  });

  it('reads metadata that wraps around the end of the circular metadata area', () => {
    const text = metadataText(single);
    const mdaSize = PE_START - 4096;
    const raw = wholeDiskPv('wrapped-pv.img', { wrapAt: mdaSize - 300 });
    expect(text.length).toBeGreaterThan(300);
    const pv = readPhysicalVolume(device(raw))!;
    expect(pv.metadata.map((m) => m.text)).toEqual([text]);
  });

  it('notes a metadata area whose checksum is wrong, and finds no VG in it', () => {
    const raw = wholeDiskPv('bad-text-pv.img', { corruptText: true });
    const disk = readVolumes(device(raw));
    expect(disk.volumes).toHaveLength(1);
    expect(disk.volumes[0]!.notes).toEqual(['metadata area at 4096: metadata checksum is wrong']);
  });

  it('notes metadata whose text does not parse, and still lists the PV', () => {
    const raw = blankDisk(path.join(dir, 'bad-syntax-pv.img'), 16 * MiB);
    writeAt(raw, 0, pvHeaderBytes(single, 0, 'vg0 {\nseqno = 1\nextent_size = \n'));
    const disk = readVolumes(device(raw));
    expect(disk.volumes.map((v) => v.index)).toEqual([1]);
    expect(disk.notes).toContain('PV WHOLEu-uid1-2345-6789-abcd-efgh-ijklmn, metadata area at 4096: LVM metadata: line 4: expected a value, found ""');
  });

  it('says a PV label whose CRC is wrong is damaged, and reads no VG from it', () => {
    const raw = wholeDiskPv('bad-label-pv.img');
    writeAt(raw, 512 + 40, Buffer.from('X'));
    const disk = readVolumes(device(raw));
    expect(disk.volumes).toEqual([]);
    expect(disk.notes).toEqual([expect.stringMatching(/^LVM PV label of .*bad-label-pv\.vmdk: CRC is wrong$/)]);
  });
});

describe('LVM2 text metadata', () => {
  it('parses sections, lists, strings with escapes, numbers and comments', () => {
    const parsed = parseMetadataText('vg {\n a = "x\\"y" # c\n b = [1, "two", -3]\n sub { c = 4.5 }\n}\nversion = 1\n');
    expect(parsed).toEqual({ vg: { a: 'x"y', b: [1, 'two', -3], sub: { c: 4.5 } }, version: 1 });
  });

  it('refuses broken text with the line, and nesting past the cap', () => {
    expect(() => parseMetadataText('vg {\n a = \n}')).toThrow(/line 3: expected a value/);
    expect(() => parseMetadataText('vg {\n a = "open\n')).toThrow(/unterminated string/);
    expect(() => parseMetadataText('a { '.repeat(100))).toThrow(/nested too deeply|missing/);
    expect(() => parseMetadataText('a = ' + '['.repeat(100))).toThrow(/nested too deeply/);
  });

  it('a PV label found on a bare buffer is read without the disk layer', () => {
    const bytes = Buffer.alloc(2 * MiB);
    const spec = { ...vg(1, []), pvs: [{ uuid: 'BUFuuid0123456789abcdefghijklmno', size: 2 * MiB }] };
    pvHeaderBytes(spec, 0, metadataText(spec)).copy(bytes);
    expect(readPhysicalVolume(bufferDevice(bytes, 'pv.bin'))).toMatchObject({ uuid: 'BUFuui-d012-3456-789a-bcde-fghi-jklmno', dataAreas: [{ offset: MiB, size: 0 }] });
  });
});
