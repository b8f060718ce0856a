/**
 * ls, get and find end to end: a FAT32 partition filled by mcopy and an ext4 partition filled by
 * mkfs.ext4 -d, in one MBR disk wrapped in a VMDK; listings against mdir and fls, bytes against
 * the source files and mcopy. FAT keeps local times without a zone: mcopy runs with TZ=UTC and the
 * reader shows them as UTC.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GuestEntry } from '../../../main/guest/types.js';
import { diskchain } from '../../helpers/cli.js';
import { blankDisk, MiB, run, sfdisk, toVmdk, writeAt } from '../../helpers/guest-images.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const dir = tmpDir('diskchain-guest-files-');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const MTOOLS = { MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };

/** The source tree: nested folders, a long name, lower-case 8.3 names, a 5 MiB file, 300 entries in one folder. */
function content(root: string, withLink: boolean): void {
  fs.mkdirSync(path.join(root, 'docs', 'deep', 'deeper'), { recursive: true });
  fs.mkdirSync(path.join(root, 'many'));
  fs.writeFileSync(path.join(root, 'docs', 'readme.txt'), 'hello\n');
  fs.writeFileSync(path.join(root, 'docs', 'Long File Name.txt'), 'a long name\n');
  fs.writeFileSync(path.join(root, 'docs', 'deep', 'deeper', 'notes.log'), 'x'.repeat(3000));
  fs.writeFileSync(path.join(root, 'hello.txt'), 'hi\n');
  fs.writeFileSync(path.join(root, 'big.bin'), patternBytes(5 * MiB + 123, 42));
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(root, 'many', `f${String(i).padStart(4, '0')}.txt`), `${i}\n`);
  const old = new Date(Date.UTC(2021, 5, 1, 10, 0, 0));
  fs.utimesSync(path.join(root, 'hello.txt'), old, old);
  if (withLink) fs.symlinkSync('docs/readme.txt', path.join(root, 'readme-link'));
}

describe('ls, get and find on FAT32 and ext4 volumes', () => {
  const fatSrc = path.join(dir, 'fat-src');
  const extSrc = path.join(dir, 'ext-src');
  content(fatSrc, false);
  content(extSrc, true);
  const fat = path.join(dir, 'fat.bin');
  run('mkfs.vfat', ['-C', '-F', '32', '-n', 'FILES', '-i', 'a1b2c3d4', fat, String(40 * 1024)]);
  run('mcopy', ['-s', '-m', '-i', fat, ...fs.readdirSync(fatSrc).map((n) => path.join(fatSrc, n)), '::/'], undefined, MTOOLS);
  const ext = path.join(dir, 'ext.bin');
  blankDisk(ext, 32 * MiB);
  run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-L', 'linux', '-d', extSrc, ext]);
  const raw = blankDisk(path.join(dir, 'files.img'), 80 * MiB);
  sfdisk(raw, 'dos', ['start=2048, size=81920, type=c', 'start=83968, size=65536, type=83']);
  writeAt(raw, 2048 * 512, fat);
  writeAt(raw, 83968 * 512, ext);
  const disk = toVmdk(raw);

  /** Every path mdir sees ("::/docs/" → "/docs"). */
  const mdirPaths = (): string[] =>
    run('mdir', ['-b', '-/', '-i', fat, '::/'], undefined, MTOOLS)
      .split('\n')
      .filter((l) => l.startsWith('::/'))
      .map((l) => l.slice(2).replace(/\/$/, ''));

  /** Every path fls sees in the ext4 partition, without sleuthkit's virtual $OrphanFiles. */
  const flsPaths = (): string[] =>
    run('fls', ['-r', '-p', '-u', '-o', '83968', raw])
      .split('\n')
      .map((l) => /^\S+\s+\d+:\t(.*)$/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined && !p.startsWith('$OrphanFiles'))
      .map((p) => `/${p}`);

  it('find lists every path mdir lists on the FAT32 volume, long and lower-case names included', () => {
    const r = diskchain(['find', `${disk}:1`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.text.trimEnd().split('\n').sort()).toEqual(mdirPaths().sort());
    expect(r.text).toContain('/docs/Long File Name.txt\n');
    expect(r.text).toContain('/hello.txt\n');
  });

  it('find lists every path fls lists on the ext4 volume', () => {
    const r = diskchain(['find', `${disk}:2`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.text.trimEnd().split('\n').sort()).toEqual(flsPaths().sort());
  });

  it('ls shows a folder, ls -l sizes, times and link targets, ls --json the entries', () => {
    expect(diskchain(['ls', `${disk}:1/docs`]).text.trimEnd().split('\n').sort()).toEqual(['Long File Name.txt', 'deep', 'readme.txt']);
    const long = diskchain(['ls', '-l', `${disk}:2/`]).text;
    expect(long).toMatch(/^l\S+\s+\d+ \d+\s+15\s+\S+ \S+\s+readme-link -> docs\/readme\.txt$/m);
    expect(long).toMatch(/^-rw-\S+\s+\d+ \d+\s+3\s+2021-06-01 10:00:00\s+hello\.txt$/m);
    const entries = JSON.parse(diskchain(['ls', '--json', `${disk}:1/docs/deep/deeper`]).text) as Array<GuestEntry & { path: string }>;
    expect(entries).toEqual([expect.objectContaining({ path: '/docs/deep/deeper/notes.log', name: 'notes.log', type: 'file', size: 3000 })]);
  });

  it('ls -R walks every folder like ls -R', () => {
    const r = diskchain(['ls', '-R', `${disk}:1/docs`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.text).toMatch(/^\/docs:\n/);
    expect(r.text).toContain('\n/docs/deep:\ndeeper\n');
    expect(r.text).toContain('\n/docs/deep/deeper:\nnotes.log\n');
    // ext4 (names from the dirents alone) lists the same way, an empty folder with its heading as ls does.
    const ext = diskchain(['ls', '-R', `${disk}:2/`]);
    expect(ext.status, ext.stderr).toBe(0);
    expect(ext.text).toMatch(/^\/:\n(.+\n)*lost\+found\n/);
    expect(ext.text).toMatch(/\n\/lost\+found:\n(\n|$)/);
    // The same names and folders as ls -lR, which reads every inode.
    const names = (text: string): string[] => text.split('\n').map((l) => (/^\S{10} {2}/.test(l) ? l.replace(/^.*\d\d:\d\d:\d\d {2}/, '').replace(/ -> .*$/, '') : l));
    expect(names(ext.text)).toEqual(names(diskchain(['ls', '-lR', `${disk}:2/`]).text));
  });

  // A plain ls line (a target and flags it knows) runs without commander; `--` sends the same line through it.
  it.each([['-R'], ['-l'], ['--json'], ['-R', '--no-replay'], ['-l', '--ignore-cid']])('ls %s gives the same output and status without commander as through it', (...flags) => {
    for (const volume of ['1/docs', '2/']) {
      const target = `${disk}:${volume}`;
      const plain = diskchain(['ls', target, ...flags], { NODE_DEBUG: 'esm,module' });
      const parsed = diskchain(['ls', ...flags, '--', target], { NODE_DEBUG: 'esm,module' });
      expect(plain.status, plain.stderr).toBe(0);
      expect(plain.stderr).not.toMatch(/node_modules\/commander/);
      expect(parsed.stderr).toMatch(/node_modules\/commander/);
      expect(parsed.status).toBe(0);
      expect(sha(plain.stdout)).toBe(sha(parsed.stdout));
    }
  });

  it('ls -R --json of a whole volume (more than one 64 KiB write of output) holds every path fls lists, once', () => {
    const r = diskchain(['ls', '-R', '--json', `${disk}:2/`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(64 * 1024);
    const paths = (JSON.parse(r.text) as Array<{ path: string }>).map((e) => e.path);
    expect(paths.sort()).toEqual(flsPaths().sort());
  });

  it('get DISK:VOL/file - into a reader that stops early (| head) ends quietly with the SIGPIPE status', () => {
    const script = `node ${JSON.stringify(path.resolve('bin/diskchain.js'))} get ${JSON.stringify(`${disk}:2/big.bin`)} - | head -c 1000 | sha256sum; echo "\${PIPESTATUS[0]}"`;
    const r = spawnSync('/bin/bash', ['-c', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const [hash, status] = r.stdout.trim().split('\n');
    expect(hash!.split(' ')[0]).toBe(sha(patternBytes(5 * MiB + 123, 42).subarray(0, 1000)));
    expect(status).toBe('141');
  });

  it('get DISK:VOL/file - streams the bytes mcopy gives', () => {
    const r = diskchain(['get', `${disk}:1/big.bin`, '-']);
    expect(r.status, r.stderr).toBe(0);
    const mcopy = path.join(dir, 'mcopy-big.bin');
    run('mcopy', ['-n', '-i', fat, '::/big.bin', mcopy], undefined, MTOOLS);
    expect(sha(r.stdout)).toBe(sha(fs.readFileSync(mcopy)));
  });

  it('get copies a folder tree with its bytes and modification times, and a symlink as a link', () => {
    for (const [vol, src] of [['1', fatSrc], ['2', extSrc]] as const) {
      const out = path.join(dir, `out-${vol}`);
      fs.mkdirSync(out);
      const r = diskchain(['get', `${disk}:${vol}/`, out]);
      expect(r.status, r.stderr).toBe(0);
      for (const rel of ['big.bin', 'hello.txt', 'docs/Long File Name.txt', 'docs/deep/deeper/notes.log', 'many/f0299.txt']) {
        expect(sha(fs.readFileSync(path.join(out, rel))), rel).toBe(sha(fs.readFileSync(path.join(src, rel))));
      }
      expect(fs.readdirSync(path.join(out, 'many'))).toHaveLength(300);
      expect(fs.statSync(path.join(out, 'hello.txt')).mtime.toISOString()).toBe('2021-06-01T10:00:00.000Z');
    }
    expect(fs.readlinkSync(path.join(dir, 'out-2', 'readme-link'))).toBe('docs/readme.txt');
  });

  it('get of one file to a new name, and into an existing folder', () => {
    const out = path.join(dir, 'one');
    fs.mkdirSync(out);
    expect(diskchain(['get', `${disk}:2/docs/readme.txt`, out]).status).toBe(0);
    expect(fs.readFileSync(path.join(out, 'readme.txt'), 'utf8')).toBe('hello\n');
    expect(diskchain(['get', `${disk}:2/docs/readme.txt`, path.join(out, 'renamed.txt')]).status).toBe(0);
    expect(fs.readFileSync(path.join(out, 'renamed.txt'), 'utf8')).toBe('hello\n');
  });

  it('find filters by pattern, size and time, and prints JSON', () => {
    expect(diskchain(['find', `${disk}:1`, '*.log']).text).toBe('/docs/deep/deeper/notes.log\n');
    expect(diskchain(['find', `${disk}:2`, '--min-size', '1M']).text).toBe('/big.bin\n');
    const before2022 = diskchain(['find', `${disk}:2`, '--type', 'f', '--newer', '2022-01-01']).text.split('\n');
    expect(before2022).not.toContain('/hello.txt');
    expect(before2022).toContain('/docs/readme.txt');
    const found = JSON.parse(diskchain(['find', `${disk}:1`, '/many/f000?.txt', '--json']).text) as Array<{ path: string }>;
    expect(found.map((f) => f.path).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `/many/f000${i}.txt`));
  });

  it('a missing path is a one-line error naming the part that is missing', () => {
    const r = diskchain(['ls', `${disk}:2/docs/nothere/x`]);
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd()).toMatch(/: \/docs\/nothere: no such file or folder$/);
  });
});

describe('ls of names that are not ASCII', () => {
  // One folder of 3,000 names (more than one 64 KiB write of `ls` output): ASCII names, UTF-8 names
  // (printed as they are) and one name that is not UTF-8 (printed as text, with U+FFFD).
  const src = path.join(dir, 'names-src');
  const folder = path.join(src, 'names');
  fs.mkdirSync(folder, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < 3000; i++) names.push(i % 500 === 7 ? `café-${String(i).padStart(4, '0')}-€.txt` : `name-with-some-length-${String(i).padStart(4, '0')}.txt`);
  for (const n of names) fs.writeFileSync(path.join(folder, n), '');
  fs.writeFileSync(Buffer.concat([Buffer.from(`${folder}/bad`), Buffer.from([0xff]), Buffer.from('.txt')]), '');
  const image = path.join(dir, 'names.bin');
  blankDisk(image, 16 * MiB);
  run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-N', '4096', '-d', src, image]);
  const disk = toVmdk(image);

  it('prints UTF-8 names as they are and a bad one with U+FFFD, in byte order, across output writes', () => {
    const r = diskchain(['ls', '-R', `${disk}/names`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(64 * 1024);
    const expected = [...names, 'bad\uFFFD.txt'].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    // Bytes, not text: the bad name's byte 0xff is printed as U+FFFD's three bytes.
    expect(r.stdout.equals(Buffer.from(`/names:\n${expected.join('\n')}\n`))).toBe(true);
    expect(r.stdout.includes(Buffer.from([0xff]))).toBe(false);
    // Without -R the same names.
    expect(diskchain(['ls', `${disk}/names`]).stdout.equals(Buffer.from(`${expected.join('\n')}\n`))).toBe(true);
    // A short line of text that is not ASCII (find's one match) goes out as UTF-8 too.
    expect(diskchain(['find', disk, 'café-0007*']).stdout.equals(Buffer.from('/names/café-0007-€.txt\n'))).toBe(true);
  });
});

