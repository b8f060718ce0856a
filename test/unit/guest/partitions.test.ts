import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskchainError } from '../../../shared/errors.js';
import { bufferDevice, type BlockDevice } from '../../../main/guest/block-device.js';
import { readPartitionTable } from '../../../main/guest/partitions/index.js';
import { openFileSystem, readVolumes } from '../../../main/guest/volumes.js';
import { metadataText, pvHeaderBytes, type VgSpec } from '../../fixtures/lvm-builder.js';
import { blankDisk, ext4Image, fatImage, MiB, mmls, ntfsImage, run, sfdisk, writeAt } from '../../helpers/guest-images.js';
import { vmdkDevice } from '../../helpers/guest-devices.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const dir = tmpDir('diskchain-parts-');
const device = vmdkDevice;

describe('MBR with an EBR chain', () => {
  const raw = blankDisk(path.join(dir, 'mbr.img'), 96 * MiB);
  sfdisk(raw, 'dos', [
    'start=2048, size=32768, type=c, bootable',
    'start=34816, size=16384, type=83',
    'start=51200, size=145408, type=5',
    'start=53248, size=20480, type=7',
    'start=75776, size=16384, type=82',
    'start=94208, size=20480, type=6',
  ]);
  writeAt(raw, 2048 * 512, fatImage(dir, 'fat32.bin', 16 * MiB, 32, 'BOOT', '1234abcd'));
  writeAt(raw, 34816 * 512, ext4Image(dir, 'ext4.bin', 8 * MiB, 'rootfs', '0fd1a35b-1111-4222-8333-944445555666'));
  writeAt(raw, 53248 * 512, ntfsImage(dir, 'ntfs.bin', 10 * MiB, 53248, 'DATA'));
  writeAt(raw, 94208 * 512, fatImage(dir, 'fat16.bin', 10 * MiB, 16, 'LOGICAL7', '0000beef'));
  const swap = Buffer.alloc(4096);
  swap.write('SWAPSPACE2', 4086, 'latin1');
  writeAt(raw, 75776 * 512, swap);

  it('lists primaries 1-2 and logicals 5-7 where mmls puts them, with their file systems', () => {
    const dev = device(raw);
    const disk = readVolumes(dev);
    expect(disk.scheme).toBe('mbr');
    const oracle = mmls(raw).filter((r) => !/Extended/.test(r.description));
    expect(disk.volumes.map((v) => [v.start! / 512, v.size / 512])).toEqual(oracle.map((r) => [r.start, r.length]));
    expect(disk.volumes.map((v) => v.index)).toEqual([1, 2, 5, 6, 7]);
    expect(disk.volumes.map((v) => v.fileSystem)).toEqual(['fat32', 'ext4', 'ntfs', null, 'fat16']);
    expect(disk.volumes[0]).toMatchObject({ type: 'W95 FAT32 (LBA) (0x0c)', label: 'BOOT', uuid: '1234-ABCD' });
    expect(disk.volumes[1]).toMatchObject({ label: 'rootfs', uuid: '0fd1a35b-1111-4222-8333-944445555666' });
    expect(disk.volumes[3]).toMatchObject({ type: 'Linux swap (0x82)', content: 'swap' });
    expect(disk.volumes[4]).toMatchObject({ label: 'LOGICAL7', uuid: '0000-BEEF' });
  });

  it('finding the volumes reads each 64 KiB it looks at once, not once per probe, and opens the volume on the disk', () => {
    const inner = device(raw);
    const reads: Array<[number, number]> = [];
    const counted: BlockDevice = { ...inner, read: (buf, offset) => void (reads.push([offset, buf.length]), inner.read(buf, offset)) };
    expect(readVolumes(counted).volumes.map((v) => v.fileSystem ?? v.content)).toEqual(readVolumes(inner).volumes.map((v) => v.fileSystem ?? v.content));
    const windows = reads.filter(([, length]) => length === 64 * 1024).map(([offset]) => offset);
    expect(new Set(windows).size).toBe(windows.length);
    // The LVM label scan of each partition (4 sectors) is the only other read.
    expect(reads.length).toBeLessThanOrEqual(windows.length + 4 * 5);
    reads.length = 0;
    const fsys = openFileSystem(counted, '2');
    expect([fsys.type, fsys.label]).toEqual(['ext4', 'rootfs']);
    expect(fsys.list(fsys.root()).map((e) => e.name)).toContain('lost+found');
  });

  it('refuses an EBR chain that loops back on itself, naming the sector', () => {
    const looped = path.join(dir, 'looped.img');
    fs.copyFileSync(raw, looped);
    // The second EBR's "next" entry points back at the first EBR (relative offset 0).
    const first = Buffer.alloc(512);
    const fd = fs.openSync(looped, 'r');
    fs.readSync(fd, first, 0, 512, 51200 * 512);
    fs.closeSync(fd);
    const secondEbr = (51200 + first.readUInt32LE(462 + 8)) * 512;
    const next = Buffer.alloc(16);
    next[4] = 0x05;
    next.writeUInt32LE(0, 8);
    next.writeUInt32LE(2048, 12);
    writeAt(looped, secondEbr + 462, next);
    expect(() => readVolumes(device(looped))).toThrow(/MBR extended partition: the EBR chain loops back to sector 51200/);
  });

  it('says a disk formatted whole has no partition table and one file system', () => {
    const whole = path.join(dir, 'whole.img');
    fs.copyFileSync(fatImage(dir, 'whole-fat.bin', 33 * MiB, 32, 'WHOLE', 'cafe0001'), whole);
    const disk = readVolumes(device(whole));
    expect(disk.scheme).toBe('none');
    expect(disk.volumes).toEqual([expect.objectContaining({ index: 1, start: 0, fileSystem: 'fat32', label: 'WHOLE' })]);
  });

  it('names exFAT and XFS volumes and Windows LDM partitions even without a reader', () => {
    const mixed = blankDisk(path.join(dir, 'mixed.img'), 40 * MiB);
    sfdisk(mixed, 'dos', ['start=2048, size=16384, type=7', 'start=18432, size=40960, type=83', 'start=59392, size=8192, type=42']);
    const exfat = blankDisk(path.join(dir, 'exfat.bin'), 8 * MiB);
    run('mkfs.exfat', ['-L', 'EXL', exfat]);
    writeAt(mixed, 2048 * 512, exfat);
    const xfs = blankDisk(path.join(dir, 'xfs.bin'), 20 * MiB);
    // Below mkfs.xfs's 300 MB minimum, as xfstests does it.
    run('mkfs.xfs', ['-q', '-f', '-L', 'xlab', '-m', 'uuid=11111111-2222-3333-4444-555555555555', xfs], undefined, { TEST_DIR: dir, TEST_DEV: '/dev/null', QA_CHECK_FS: '1' });
    writeAt(mixed, 18432 * 512, xfs);
    const v = readVolumes(device(mixed)).volumes;
    expect(v.map((x) => [x.fileSystem, x.label, x.content])).toEqual([
      ['exfat', null, null],
      ['xfs', 'xlab', null],
      [null, null, 'Windows LDM (dynamic disk): not read'],
    ]);
    expect(v[1]!.uuid).toBe('11111111-2222-3333-4444-555555555555');
  });

  it('refuses an EBR chain longer than the cap without reading past it', () => {
    const sectors = 300;
    const bytes = Buffer.alloc(sectors * 512);
    const slot = (sector: number, i: number, type: number, start: number, count: number): void => {
      const at = sector * 512 + 446 + i * 16;
      bytes[at + 4] = type;
      bytes.writeUInt32LE(start, at + 8);
      bytes.writeUInt32LE(count, at + 12);
      bytes[sector * 512 + 510] = 0x55;
      bytes[sector * 512 + 511] = 0xaa;
    };
    slot(0, 0, 0x05, 1, sectors - 1);
    // 200 EBRs, one per sector, each holding a 0-sector logical and pointing at the next.
    for (let i = 0; i < 200; i++) slot(1 + i, 1, 0x05, i + 1, 1);
    expect(() => readPartitionTable(bufferDevice(bytes, 'chain.img'))).toThrow(/EBR chain has more than 128 links/);
  });

  it('reports BitLocker and LUKS by their signatures, not as unknown', () => {
    const enc = path.join(dir, 'enc.img');
    blankDisk(enc, 16 * MiB);
    sfdisk(enc, 'dos', ['start=2048, size=8192, type=7', 'start=10240, size=8192, type=83']);
    const fve = Buffer.alloc(512);
    fve.write('-FVE-FS-', 3, 'latin1');
    writeAt(enc, 2048 * 512, fve);
    writeAt(enc, 10240 * 512, Buffer.from('LUKS\xba\xbe\x00\x02', 'latin1'));
    const v = readVolumes(device(enc)).volumes;
    expect(v.map((x) => x.content)).toEqual(['BitLocker-encrypted: not read', 'LUKS-encrypted: not read']);
    expect(v.map((x) => x.fileSystem)).toEqual([null, null]);
  });
});

describe('GPT', () => {
  const raw = blankDisk(path.join(dir, 'gpt.img'), 64 * MiB);
  run('sgdisk', ['-n', '1:2048:+16M', '-t', '1:ef00', '-c', '1:EFI system', '-u', '1:11111111-2222-3333-4444-555555555555', '-n', '2:0:+20M', '-t', '2:0700', '-c', '2:Basic data', '-n', '3:0:+8M', '-t', '3:fb00', '-c', '3:datastore', raw]);
  writeAt(raw, 2048 * 512, fatImage(dir, 'esp.bin', 16 * MiB, 16, 'ESP', '00c0ffee'));

  it('lists the partitions with names, types and GUIDs where mmls puts them', () => {
    const disk = readVolumes(device(raw));
    expect(disk.scheme).toBe('gpt');
    expect(disk.notes).toEqual([]);
    const oracle = mmls(raw);
    expect(disk.volumes.map((v) => [v.start! / 512, v.size / 512, v.name])).toEqual(oracle.map((r) => [r.start, r.length, r.description]));
    expect(disk.volumes[0]).toMatchObject({ index: 1, type: 'EFI System', fileSystem: 'fat16', label: 'ESP', uuid: '00C0-FFEE' });
    expect(disk.volumes[1]).toMatchObject({ index: 2, type: 'Microsoft basic data', fileSystem: null });
    expect(disk.volumes[2]).toMatchObject({ index: 3, type: 'VMware VMFS', content: 'VMware VMFS: not read' });
  });

  it('reads the backup GPT when the primary header CRC is wrong, and says so', () => {
    const bad = path.join(dir, 'gpt-bad-header.img');
    fs.copyFileSync(raw, bad);
    writeAt(bad, 512 + 16, Buffer.from([1, 2, 3, 4]));
    const disk = readVolumes(device(bad));
    const lastLba = 64 * 2048 - 1;
    expect(disk.notes).toEqual([`primary GPT at LBA 1: header CRC is wrong; read the backup GPT at LBA ${lastLba}`]);
    expect(disk.volumes.map((v) => v.name)).toEqual(['EFI system', 'Basic data', 'datastore']);
  });

  it('reads the backup GPT when the primary entry array CRC is wrong', () => {
    const bad = path.join(dir, 'gpt-bad-array.img');
    fs.copyFileSync(raw, bad);
    writeAt(bad, 2 * 512 + 56, Buffer.from('X\0', 'latin1'));
    const disk = readVolumes(device(bad));
    expect(disk.notes[0]).toMatch(/^primary GPT at LBA 1: entry array CRC is wrong; read the backup GPT/);
    expect(disk.volumes[0]!.name).toBe('EFI system');
  });

  it('says when the disk grew after it was partitioned (the backup GPT is not at the end)', () => {
    const grown = path.join(dir, 'gpt-grown.img');
    fs.copyFileSync(raw, grown);
    fs.truncateSync(grown, 96 * MiB);
    const disk = readVolumes(device(grown));
    expect(disk.notes).toEqual([`the backup GPT is at LBA ${64 * 2048 - 1}, not at the last LBA (${96 * 2048 - 1}): the disk grew after it was partitioned`]);
    expect(disk.volumes).toHaveLength(3);
  });

  it('refuses a disk whose two GPT headers are both damaged, saying why for each', () => {
    const bad = path.join(dir, 'gpt-both-bad.img');
    fs.copyFileSync(raw, bad);
    writeAt(bad, 512 + 16, Buffer.from([1, 2, 3, 4]));
    writeAt(bad, 64 * MiB - 512, Buffer.alloc(512));
    expect(() => readVolumes(device(bad))).toThrow(/GPT: primary header at LBA 1: header CRC is wrong; backup at LBA 131071: no "EFI PART" signature/);
  });

  it('uses the GPT of a hybrid MBR and names the extra MBR entries', () => {
    const hybrid = path.join(dir, 'hybrid.img');
    fs.copyFileSync(raw, hybrid);
    run('sgdisk', ['-h', '1:2', hybrid]);
    const mbr = fs.readFileSync(hybrid).subarray(446, 510);
    expect([0, 1, 2, 3].map((i) => mbr[i * 16 + 4])).toContain(0xee);
    const disk = readVolumes(device(hybrid));
    expect(disk.scheme).toBe('gpt');
    expect(disk.notes).toEqual([expect.stringMatching(/^hybrid MBR: the MBR also lists slot \d \(type 0x\w\w\), slot \d \(type 0x\w\w\); the GPT is used$/)]);
    expect(disk.volumes).toHaveLength(3);
  });

  it('finds a 4Kn GPT from where its header is, with 4096-byte LBAs', () => {
    const k4 = blankDisk(path.join(dir, 'gpt4k.img'), 64 * MiB);
    run('fdisk', ['-b', '4096', k4], 'g\nn\n1\n\n+8M\nn\n2\n\n+16M\nx\nn\n2\ndata\nr\nw\n');
    writeAt(k4, 256 * 4096, fatImage(dir, 'k4fat.bin', 8 * MiB, 12, 'K4', '00004444'));
    const raw4k = readPartitionTable(device(k4));
    expect(raw4k.sectorSize).toBe(4096);
    const disk = readVolumes(device(k4));
    expect(disk.notes).toContain('4096-byte sectors (4Kn)');
    const oracle = mmls(k4, 4096);
    expect(disk.volumes.map((v) => [v.start! / 4096, v.size / 4096])).toEqual(oracle.map((r) => [r.start, r.length]));
    expect(disk.volumes[0]!.label).toBe('K4');
    expect(disk.volumes[1]!.name).toBe('data');
  });

  it('lists the partitions of a 2 TiB sparse disk in well under a second', () => {
    const big = blankDisk(path.join(dir, 'big.img'), 2 * 1024 * 1024 * MiB);
    run('sgdisk', ['-n', '1:2048:+1G', '-n', '2:0:0', '-c', '2:rest', big]);
    const dev = device(big);
    const t0 = performance.now();
    const disk = readVolumes(dev);
    const ms = performance.now() - t0;
    expect(disk.volumes.map((v) => v.name)).toEqual(['', 'rest']);
    expect(disk.volumes[1]!.size).toBeGreaterThan(2 * 1024 * 1024 * MiB - 2 * 1024 * MiB);
    expect(ms).toBeLessThan(300);
  });
});

describe('damaged tables', () => {
  it('a table with random bytes in its sectors lists or fails with a DiskchainError, never anything else', () => {
    const mbrDisk = blankDisk(path.join(dir, 'fuzz-mbr.img'), 8 * MiB);
    sfdisk(mbrDisk, 'dos', ['start=2048, size=4096, type=83', 'start=6144, size=8192, type=5', 'start=8192, size=2048, type=83', 'start=12288, size=2048, type=8e']);
    const pvSpec: VgSpec = {
      name: 'vg', uuid: 'VGuuid0123456789abcdefghijklmnop', seqno: 1, extentSectors: 256, peStartSectors: 1024,
      pvs: [{ uuid: 'PVuuid0123456789abcdefghijklmnop', size: MiB }],
      lvs: [{ name: 'lv', segments: [{ extents: 2, stripes: [[0, 0]] }] }],
    };
    writeAt(mbrDisk, 12288 * 512, pvHeaderBytes(pvSpec, 0, metadataText(pvSpec)));
    expect(readVolumes(bufferDevice(fs.readFileSync(mbrDisk), 'fuzz.img')).volumes.map((v) => v.index)).toEqual([1, 5, 6, 'vg/lv']);
    const gptDisk = blankDisk(path.join(dir, 'fuzz-gpt.img'), 8 * MiB);
    run('sgdisk', ['-n', '1:2048:+2M', '-n', '2:0:+2M', '-t', '2:8e00', gptDisk]);
    const noise = patternBytes(64 * 1024, 99);
    let noiseAt = 0;
    const structures = [0, 1, 2, 6144, 8190, 12289, 12288 + 8, 12288 + 9, 16383];
    let failures = 0;
    let noted = 0;
    for (const source of [mbrDisk, gptDisk]) {
      const original = fs.readFileSync(source);
      for (let round = 0; round < 150; round++) {
        const bytes = Buffer.from(original);
        // A few bytes of noise in one of the sectors that hold tables, EBRs, GPT headers or PV labels.
        const sector = structures[round % structures.length]!;
        for (let k = 0; k < 1 + (round % 7); k++) {
          const r = noise.readUInt16LE(noiseAt % (noise.length - 2));
          // In sector 0 only the partition slots matter (the rest is boot code); elsewhere any byte.
          const at = sector * 512 + (sector === 0 ? 446 + (r % 66) : r % 512);
          bytes[at] = noise[(noiseAt + 7) % noise.length]!;
          noiseAt += 3;
        }
        try {
          const disk = readVolumes(bufferDevice(bytes, 'fuzz.img'));
          if (disk.notes.length > 0 || disk.volumes.some((v) => v.notes.length > 0)) noted++;
        } catch (e) {
          expect(e, String(e)).toBeInstanceOf(DiskchainError);
          failures++;
        }
      }
    }
    // The damage must have been seen (refused, or said in a note), or the test did not reach the checks.
    expect(failures + noted, `${failures} refused, ${noted} noted`).toBeGreaterThan(100);
  });
});
