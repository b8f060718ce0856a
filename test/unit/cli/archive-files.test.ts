/**
 * Single-file restore: parts, ls, get, find and diff on `ARCHIVE[:DISK[:VOL]]/path`, with archives
 * `diskchain backup` made of a VM whose disks hold an ext4 and an NTFS volume, before and after a
 * file changed; a tar of an archive; a segment with one flipped byte. Bytes are compared with the
 * source trees the volumes were built from; the archives must read as untouched after everything.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest, type Manifest } from '../../../main/formats/manifest.js';
import { changeNginx, folderState, makeGuestVm, NGINX_AFTER, NGINX_BEFORE, PART_START } from '../../helpers/archive-vm.js';
import { diskchain } from '../../helpers/cli.js';
import { MiB } from '../../helpers/guest-images.js';
import { tmpDir } from '../../helpers/tmp.js';

const root = tmpDir('diskchain-archive-files-');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function ok(args: string[]): ReturnType<typeof diskchain> {
  const r = diskchain(args);
  expect(r.status, r.stderr).toBe(0);
  return r;
}

function manifestOf(dir: string): Manifest {
  const file = path.join(dir, 'manifest.json');
  return parseManifest(fs.readFileSync(file, 'utf8'), file);
}

/** Every file under a host folder, relative path → SHA-256. */
function treeHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      if (fs.lstatSync(p).isDirectory()) walk(p);
      else out[path.relative(dir, p)] = sha(fs.readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

describe('files straight from an archive', () => {
  const vm = makeGuestVm(root);
  // before: flattened, made before the change; after: --keep-chain, made after it (link 1 = before).
  const before = path.join(root, 'before');
  const after = path.join(root, 'after');
  ok(['backup', '--progress', 'none', '--segment-size', '1M', vm.vmx, before]);
  changeNginx(vm);
  ok(['backup', '--progress', 'none', '--segment-size', '1M', '--keep-chain', vm.vmx, after]);
  const tar = path.join(root, 'after.tar');
  execFileSync('tar', ['-cf', tar, '-C', after, '.']);
  const tarState = (): { size: number; mtimeMs: number; sha256: string } => {
    const st = fs.statSync(tar);
    return { size: st.size, mtimeMs: st.mtimeMs, sha256: sha(fs.readFileSync(tar)) };
  };
  const states = { before: folderState(before), after: folderState(after), tar: tarState() };

  it('names the disks when an archive with several is given without DISK', () => {
    const r = diskchain(['ls', `${after}/etc`]);
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd()).toBe(`diskchain: ${after} holds 2 disks (sys-000001, data): name one, as ARCHIVE:DISK[:VOL]/path`);
    const bad = diskchain(['ls', `${after}:nosuch:1/`]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/no disk "nosuch" in the archive \(its disks: sys-000001, data\)/);
  });

  it('parts lists the volumes of an archived disk', () => {
    const r = ok(['parts', `${after}:sys-000001`]);
    expect(r.text).toMatch(/1\s+1\.0 MiB\s+40\.0 MiB\s+.*ext4\s+root/);
    expect(ok(['parts', `${after}:data.vmdk`]).text).toMatch(/^1\s+0 B\s+16\.0 MiB\s+whole disk\s+ntfs\s/m);
  });

  it('ls and find read the ext4 volume of the archived disk', () => {
    expect(ok(['ls', `${after}:sys-000001:1/etc/nginx`]).text).toBe('nginx.conf\n');
    const found = ok(['find', `${after}:sys-000001:1`, '*.conf']).text;
    expect(found).toBe('/etc/nginx/nginx.conf\n');
    const long = ok(['ls', '-l', `${after}:sys-000001:1/etc/hostname`]).text;
    expect(long).toMatch(/^-rw-r--r-- .* 6 {2}2024-05-01 12:00:00 {2}\/etc\/hostname\n$/);
  });

  it('a file changed between two backups reads as each backup saw it, and at each archived link', () => {
    const at = (args: string[]): string => ok(['get', ...args, '-']).stdout.toString();
    expect(at([`${before}:sys:1/etc/nginx/nginx.conf`])).toBe(NGINX_BEFORE);
    expect(at([`${after}:sys-000001:1/etc/nginx/nginx.conf`])).toBe(NGINX_AFTER);
    expect(at(['--at', '1', `${after}:sys-000001:1/etc/nginx/nginx.conf`])).toBe(NGINX_BEFORE);
    expect(at(['--at', '0', `${after}:sys-000001.vmdk:1/etc/nginx/nginx.conf`])).toBe(NGINX_AFTER);
    const r = diskchain(['get', '--at', '1', `${before}:sys:1/etc/hostname`, '-']);
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd()).toBe('diskchain: --at 1: disk sys has 1 archived link (only 0: the archive holds it flattened)');
  });

  it('diff --at 1 on a --keep-chain archive names the changed file', () => {
    const r = ok(['diff', '--at', '0', `${after}:sys-000001:1`]);
    expect(r.text).toMatch(/^M \/etc\/nginx\/nginx\.conf {2}\(size/m);
    const two = ok(['diff', `${before}:sys:1/etc`, `${after}:sys-000001:1/etc`]);
    expect(two.text.trim().split('\n')).toEqual([expect.stringMatching(/^M \/etc\/nginx\/nginx\.conf/)]);
  });

  it('get copies a whole volume out with the bytes of the source files, ext4 and NTFS', () => {
    const dest = path.join(root, 'got-sys');
    fs.mkdirSync(dest);
    ok(['get', `${after}:sys-000001:1/`, dest]);
    fs.rmSync(path.join(dest, 'lost+found'), { recursive: true });
    expect(treeHashes(dest)).toEqual(treeHashes(vm.extAfter));
    const ntfs = path.join(root, 'got-data');
    fs.mkdirSync(ntfs);
    ok(['get', `${after}:data/big.dat`, ntfs]);
    ok(['get', `${after}:data/report.txt`, ntfs]);
    expect(treeHashes(ntfs)).toEqual(treeHashes(vm.ntfsFiles));
  });

  it('reads a tar of an archive by its headers, members by offset', () => {
    expect(ok(['get', `${tar}:sys-000001:1/etc/nginx/nginx.conf`, '-']).stdout.toString()).toBe(NGINX_AFTER);
    expect(ok(['get', '--at', '1', `${tar}:sys-000001:1/etc/nginx/nginx.conf`, '-']).stdout.toString()).toBe(NGINX_BEFORE);
    expect(sha(ok(['get', `${tar}:data/big.dat`, '-']).stdout)).toBe(sha(fs.readFileSync(path.join(vm.ntfsFiles, 'big.dat'))));
    const gz = path.join(root, 'after.tar.gz');
    execFileSync('sh', ['-c', `gzip -c '${tar}' > '${gz}.tar'`]);
    const r = diskchain(['ls', `${gz}.tar:sys:1/`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/is compressed \(gzip\)/);
  });

  it('a flipped byte in one segment refuses exactly the file whose data lies in it; the rest comes out', () => {
    const damaged = path.join(root, 'damaged');
    fs.cpSync(before, damaged, { recursive: true });
    // The segment that holds the middle of /var/big.bin (debugfs says where its block 1024 lies).
    const bmap = execFileSync('debugfs', ['-R', 'bmap /var/big.bin 1024', path.join(root, 'work', 'ext-before.bin')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const diskOffset = PART_START + Number(bmap.trim()) * 4096;
    const sys = manifestOf(damaged).disks.find((d) => d.name === 'sys')!;
    const segment = sys.links[0]!.segments[Math.floor(diskOffset / MiB)]!;
    const file = path.join(damaged, segment);
    const fd = fs.openSync(file, 'r+');
    const last = Buffer.alloc(1);
    fs.readSync(fd, last, 0, 1, fs.fstatSync(fd).size - 1);
    fs.writeSync(fd, Buffer.from([last[0]! ^ 0xff]), 0, 1, fs.fstatSync(fd).size - 1);
    fs.closeSync(fd);

    const dest = path.join(root, 'got-damaged');
    fs.mkdirSync(dest);
    const r = diskchain(['get', `${damaged}:sys:1/`, dest]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`diskchain: /var/big.bin: segment ${segment} does not match the manifest hash (${lines[0]!.split('(')[1]}`);
    expect(lines[0]).toMatch(/: the archive is damaged there$/);
    expect(lines[1]).toMatch(/ \(1 failed\)$/);
    fs.rmSync(path.join(dest, 'lost+found'), { recursive: true });
    const expected = treeHashes(vm.extBefore);
    delete expected[path.join('var', 'big.bin')];
    expect(treeHashes(dest)).toEqual(expected);
    // A file elsewhere still comes out alone; the damaged one is refused alone, naming the segment.
    expect(ok(['get', `${damaged}:sys:1/etc/nginx/nginx.conf`, '-']).stdout.toString()).toBe(NGINX_BEFORE);
    const piped = diskchain(['get', `${damaged}:sys:1/var/big.bin`, '-']);
    expect(piped.status).toBe(1);
    expect(piped.stderr.trimEnd()).toMatch(new RegExp(`^diskchain: ${damaged}: /var/big\\.bin: segment ${segment} does not match the manifest hash \\(bytes \\d+–\\d+: .*\\): the archive is damaged there$`));
    const one = diskchain(['get', `${damaged}:sys:1/var/big.bin`, path.join(root, 'big-out.bin')]);
    expect(one.status).toBe(1);
    expect(one.stderr).toContain(`/var/big.bin: segment ${segment} does not match the manifest hash`);
    expect(fs.existsSync(path.join(root, 'big-out.bin'))).toBe(false);
  });

  it("leaves every archive's files as they were: same bytes, same times, nothing added", () => {
    expect(folderState(before)).toEqual(states.before);
    expect(folderState(after)).toEqual(states.after);
    expect(tarState()).toEqual(states.tar);
  });
});
