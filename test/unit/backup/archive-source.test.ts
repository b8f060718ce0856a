/**
 * An archive as a FileSource: its disks open as chains through it and read as qemu-img reads the
 * source disks; a segment is hashed when a read first reaches its grains and never again; a
 * damaged one refuses only the reads that reach it; a tar is indexed by its headers alone.
 * Archives are made by the built `diskchain backup` of a VM with ext4 and NTFS disks.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveDisk, openArchive, openArchivedDisk, type ArchiveFiles } from '../../../main/backup/archive-source.js';
import type { Chain } from '../../../main/disk/chain.js';
import { changeNginx, folderState, makeGuestVm, NGINX_AFTER, NGINX_BEFORE, PART_START } from '../../helpers/archive-vm.js';
import { guestQueries } from '../../../main/services/worker/guest-queries.js';
import { extractJob } from '../../../main/jobs/extract.js';
import { diskchain } from '../../helpers/cli.js';
import { MiB } from '../../helpers/guest-images.js';
import { qemuRaw } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

const root = tmpDir('diskchain-archive-source-');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function chainSha(chain: Chain): string {
  const hash = createHash('sha256');
  const buf = Buffer.alloc(4 * MiB);
  for (let at = 0; at < chain.capacityBytes; at += buf.length) {
    const part = buf.subarray(0, Math.min(buf.length, chain.capacityBytes - at));
    chain.read(part, at);
    hash.update(part);
  }
  return hash.digest('hex');
}

function segmentBytes(archive: ArchiveFiles): number {
  return archive.manifest.files.filter((f) => f.role === 'segment').reduce((s, f) => s + f.bytes, 0);
}

describe('an archive as a file source', () => {
  const vm = makeGuestVm(root);
  const sysBefore = sha(fs.readFileSync(qemuRaw(vm.sys)));
  const archive = path.join(root, 'archive');
  changeNginx(vm);
  const sysAfter = sha(fs.readFileSync(qemuRaw(path.join(vm.dir, 'sys-000001.vmdk'))));
  const dataSha = sha(fs.readFileSync(qemuRaw(vm.data)));
  const r = diskchain(['backup', '--progress', 'none', '--segment-size', '1M', '--keep-chain', vm.vmx, archive]);
  expect(r.status, r.stderr).toBe(0);
  const tar = path.join(root, 'archive.tar');
  execFileSync('tar', ['-cf', tar, '-C', root, 'archive']);
  const untouched = folderState(archive);

  it('opens each disk, at each archived link, reading what qemu-img reads from the source', () => {
    const a = openArchive(archive);
    const sys = archiveDisk(a, 'sys-000001');
    expect(sys.links.map((l) => l.descriptor)).toEqual(['sys-000001.vmdk', 'sys.vmdk']);
    for (const [at, want] of [[0, sysAfter], [1, sysBefore]] as const) {
      const chain = openArchivedDisk(a, sys, at);
      try {
        expect(chain.links.map((l) => path.basename(l.path))).toEqual(sys.links.slice(at).map((l) => l.descriptor));
        expect(chainSha(chain)).toBe(want);
      } finally {
        chain.close();
      }
    }
    const data = openArchivedDisk(a, archiveDisk(a, 'DATA.VMDK'), 0);
    try {
      expect(chainSha(data)).toBe(dataSha);
    } finally {
      data.close();
    }
    expect(() => openArchivedDisk(a, sys, 2)).toThrow(/--at 2: disk sys-000001 has 2 archived links \(0 is the top, 1 the base\)/);
  });

  it('names the disks when none or an unknown one is given', () => {
    const a = openArchive(archive);
    expect(() => archiveDisk(a, undefined)).toThrow(`${archive} holds 2 disks (sys-000001, data): name one, as ARCHIVE:DISK[:VOL]/path`);
    expect(() => archiveDisk(a, 'web')).toThrow('no disk "web" in the archive (its disks: sys-000001, data)');
    expect(archiveDisk(a, 'data.vmdk').name).toBe('data');
  });

  it('is read-only and holds only the files its manifest lists', () => {
    const a = openArchive(archive);
    expect(() => a.open(a.pathOf('sys.vmdk'), 'write')).toThrow(/archives are read-only/);
    expect(() => a.open(a.pathOf('notes.txt'), 'read')).toThrow(/not in its manifest/);
    expect(a.stat(a.pathOf('sys-s001.vmdk'))).toMatchObject({ kind: 'file' });
    expect(a.stat(path.join(root, 'elsewhere', 'sys.vmdk'))).toBeNull();
  });

  it('opening a disk reads headers and grain tables, not the segments; a segment is hashed once, when its grains are first read', () => {
    // A copy nothing has read yet: verdicts are kept per file for the life of the process.
    const fresh = path.join(root, 'fresh');
    fs.cpSync(archive, fresh, { recursive: true });
    const a = openArchive(fresh);
    const sys = archiveDisk(a, 'sys-000001');
    const chain = openArchivedDisk(a, sys, 1);
    try {
      const opened = a.bytesRead;
      expect(opened).toBeLessThan(segmentBytes(a) / 4);
      // 1 MiB into the disk: in the second segment of sys.vmdk (its first grains: the ext4 superblock).
      const buf = Buffer.alloc(4096);
      const segment = path.join(fresh, 'sys-s002.vmdk');
      chain.read(buf, MiB);
      const first = a.bytesRead - opened;
      expect(first).toBeGreaterThanOrEqual(Math.min(MiB, fs.statSync(segment).size));
      chain.read(buf, MiB);
      expect(a.bytesRead - opened - first).toBeLessThan(buf.length + 16 * 1024);
    } finally {
      chain.close();
    }
    // Once per process: another opening of the archive trusts the verdict.
    const again = openArchive(fresh);
    const chain2 = openArchivedDisk(again, archiveDisk(again, 'sys-000001'), 1);
    try {
      const before = again.bytesRead;
      chain2.read(Buffer.alloc(4096), MiB);
      expect(again.bytesRead - before).toBeLessThan(4096 + 16 * 1024);
    } finally {
      chain2.close();
    }
  });

  it('a damaged segment refuses the reads that reach its grains, naming the archive and the segment; reads elsewhere work', () => {
    const copy = path.join(root, 'damaged');
    fs.cpSync(archive, copy, { recursive: true });
    // The two fullest segments of sys.vmdk after the superblock's: /var/big.bin's data, 1 MiB of disk each.
    const base = openArchive(copy).manifest.disks[0]!.links[1]!;
    const [flipped, cut] = base.segments
      .map((name, index) => ({ name, index, size: fs.statSync(path.join(copy, name)).size }))
      .filter((s) => s.index >= 2)
      .sort((x, y) => y.size - x.size);
    const fd = fs.openSync(path.join(copy, flipped!.name), 'r+');
    fs.writeSync(fd, Buffer.from('X'), 0, 1, flipped!.size - 100);
    fs.closeSync(fd);
    const a = openArchive(copy);
    const chain = openArchivedDisk(a, archiveDisk(a, 'sys-000001'), 1);
    try {
      const buf = Buffer.alloc(65536);
      chain.read(buf, MiB);
      const message = new RegExp(`^segment ${flipped!.name} does not match the manifest hash \\(bytes \\d+–\\d+: SHA-256 [0-9a-f]{12}…, the manifest says [0-9a-f]{12}…\\): the archive is damaged there$`);
      // The segment's last grain (the flipped byte's) is the last 64 KiB of its MiB of disk.
      const lastGrain = (flipped!.index + 1) * MiB - 65536;
      expect(() => chain.read(buf, lastGrain)).toThrow(expect.objectContaining({ code: 'E_FORMAT', file: copy, message: expect.stringMatching(message) }));
      chain.read(buf, cut!.index * MiB);
      expect(() => chain.read(buf, lastGrain)).toThrow(message);
    } finally {
      chain.close();
    }
    const cutFile = path.join(copy, cut!.name);
    fs.truncateSync(cutFile, cut!.size - 512);
    const b = openArchive(copy);
    const short = openArchivedDisk(b, archiveDisk(b, 'sys-000001'), 1);
    try {
      expect(() => short.read(Buffer.alloc(512), cut!.index * MiB + 4096)).toThrow(
        new RegExp(`segment ${cut!.name} does not match the manifest hash \\(it has ${cut!.size - 512} bytes, the manifest says ${cut!.size}\\)`),
      );
      short.read(Buffer.alloc(512), MiB);
    } finally {
      short.close();
    }
  });

  it('with chunk hashes a read checks only the 1 MiB chunks it reaches, not its 2 GB segment; damage refuses only reads of its chunk', () => {
    const single = path.join(root, 'single');
    const made = diskchain(['backup', '--progress', 'none', vm.vmx, single]);
    expect(made.status, made.stderr).toBe(0);
    const m = openArchive(single).manifest;
    const segmentName = m.disks[0]!.links[0]!.segments[0]!;
    const listed = m.files.find((f) => f.name === segmentName)!;
    expect(listed.chunks?.chunkBytes).toBe(MiB);
    expect(listed.bytes).toBeGreaterThan(8 * MiB);

    const a = openArchive(single);
    const chain = openArchivedDisk(a, archiveDisk(a, 'sys'), 0);
    try {
      const opened = a.bytesRead;
      expect(opened).toBeLessThan(MiB);
      chain.read(Buffer.alloc(4096), MiB);
      expect(a.bytesRead - opened).toBeGreaterThanOrEqual(MiB);
      expect(a.bytesRead - opened).toBeLessThan(2 * MiB + 64 * 1024);
    } finally {
      chain.close();
    }

    // A flipped byte in the middle of the segment: only the reads that reach its chunk fail.
    const copy = path.join(root, 'single-damaged');
    fs.cpSync(single, copy, { recursive: true });
    const flippedAt = Math.floor(listed.bytes / 2);
    const fd = fs.openSync(path.join(copy, segmentName), 'r+');
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, flippedAt);
    fs.writeSync(fd, Buffer.from([byte[0]! ^ 1]), 0, 1, flippedAt);
    fs.closeSync(fd);
    const chunkStart = Math.floor(flippedAt / MiB) * MiB;
    const b = openArchive(copy);
    const damaged = openArchivedDisk(b, archiveDisk(b, 'sys'), 0);
    let refused = 0;
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (let at = 0; at < damaged.capacityBytes; at += buf.length) {
        try {
          damaged.read(buf, at);
        } catch (e) {
          expect((e as Error).message).toContain(`segment ${segmentName} does not match the manifest hash (bytes ${chunkStart}–${chunkStart + MiB - 1}: SHA-256`);
          refused += buf.length;
        }
      }
    } finally {
      damaged.close();
    }
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThanOrEqual(MiB);
  });

  it('an archive made before chunk hashes is checked a whole segment at a time', () => {
    const old = path.join(root, 'old');
    fs.cpSync(path.join(root, 'single'), old, { recursive: true });
    const file = path.join(old, 'manifest.json');
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as { files: Array<{ chunks?: unknown }> };
    for (const f of m.files) delete f.chunks;
    fs.writeFileSync(file, `${JSON.stringify(m, null, 2)}\n`);
    const a = openArchive(old);
    const segment = a.manifest.files.find((f) => f.role === 'segment')!;
    const chain = openArchivedDisk(a, archiveDisk(a, 'sys'), 0);
    try {
      const opened = a.bytesRead;
      chain.read(Buffer.alloc(4096), MiB);
      expect(a.bytesRead - opened).toBeGreaterThanOrEqual(segment.bytes);
      expect(chainSha(chain)).toBe(sysAfter);
    } finally {
      chain.close();
    }
  });

  it('a tar of the archive (one folder down) is indexed by its headers and read by offset', () => {
    const a = openArchive(tar);
    expect(a.bytesRead).toBeLessThan(256 * 1024);
    expect(a.bytesRead).toBeLessThan(fs.statSync(tar).size / 20);
    const chain = openArchivedDisk(a, archiveDisk(a, 'sys-000001'), 0);
    try {
      expect(chainSha(chain)).toBe(sysAfter);
    } finally {
      chain.close();
    }
  });

  it("the Files tab's queries and Extract… job read an archived disk through the archive, at each link, and name a damaged segment", async () => {
    const q = { path: archive, archiveDisk: 'sys-000001', volume: '1' };
    expect(guestQueries.guestVolumes({ ...q }).map((v) => v.fileSystem)).toEqual(['ext4']);
    expect(guestQueries.guestList({ ...q, dir: '/etc/nginx' }).entries.map((e) => e.name)).toEqual(['nginx.conf']);
    expect(guestQueries.guestPreview({ ...q, file: '/etc/nginx/nginx.conf' }).text).toBe(NGINX_AFTER);
    expect(guestQueries.guestPreview({ ...q, at: 1, file: '/etc/nginx/nginx.conf' }).text).toBe(NGINX_BEFORE);
    expect(guestQueries.guestDiff({ ...q, dir: '/etc' }).changes.map((c) => `${c.change} ${c.path}`)).toEqual(['changed /etc/nginx/nginx.conf']);

    // Every grain of the base segment that holds nginx.conf's first block, flipped.
    const copy = path.join(root, 'files-damaged');
    fs.cpSync(archive, copy, { recursive: true });
    const block = Number(execFileSync('debugfs', ['-R', 'bmap /etc/nginx/nginx.conf 0', path.join(root, 'work', 'ext-before.bin')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const index = Math.floor((PART_START + block * 4096) / MiB);
    const segment = openArchive(copy).manifest.disks[0]!.links[1]!.segments[index]!;
    const file = path.join(copy, segment);
    const bytes = fs.readFileSync(file);
    const overHead = Number(bytes.readBigUInt64LE(64)) * 512;
    for (let i = overHead; i < bytes.length; i++) bytes[i] = bytes[i]! ^ 0x55;
    fs.writeFileSync(file, bytes);
    expect(() => guestQueries.guestPreview({ ...q, path: copy, at: 1, file: '/etc/nginx/nginx.conf' })).toThrow(new RegExp(`segment ${segment} does not match the manifest hash`));
    // The app's Extract… job reads the same way: refused, naming the segment (which holds the file's folder too).
    const dest = path.join(root, 'extract-out');
    fs.mkdirSync(dest);
    const ctx = { progress: () => undefined, throwIfCancelled: () => undefined };
    const spec = { kind: 'extract' as const, disk: copy, archiveDisk: 'sys-000001', volume: '1', paths: ['/etc/nginx/nginx.conf'], destDir: dest };
    await expect(extractJob({ ...spec, at: 1 }, ctx)).rejects.toThrow(new RegExp(`segment ${segment} does not match the manifest hash`));
    expect(fs.readdirSync(dest)).toEqual([]);
    await extractJob({ ...spec, disk: archive }, ctx);
    expect(fs.readFileSync(path.join(dest, 'nginx.conf'), 'utf8')).toBe(NGINX_AFTER);
  });

  it('leaves the archive as it was', () => {
    expect(folderState(archive)).toEqual(untouched);
  });
});

