/**
 * Two states of one FAT32 volume built with mkfs.vfat + mtools (before, and after a set of changes),
 * and a snapshot chain whose child link holds exactly the sectors the changes touched.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blankDisk, fatImage, MiB, sfdisk, toVmdk, writeAt } from './guest-images.js';
import { qemuImg } from './qemu.js';

const ENV = { ...process.env, MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };

export function mtools(cmd: string, ...args: string[]): void {
  execFileSync(cmd, args, { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Writes `text` to a host file with a fixed mtime (so mcopy -m keeps it). */
function hostFile(dir: string, name: string, content: string | Buffer, mtime: Date): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  fs.utimesSync(file, mtime, mtime);
  return file;
}

/** Into the volume at `to` (`::/etc/hosts`), keeping the host file's mtime. */
function put(img: string, file: string, to: string, overwrite = false): void {
  mtools('mcopy', '-m', ...(overwrite ? ['-o'] : []), '-i', img, file, to);
}

export interface FatStates {
  before: string;
  after: string;
  /** The bytes of /logs/big.bin (several clusters, for extract). */
  big: Buffer;
}

const T0 = new Date('2024-03-01T10:00:00Z');
const T1 = new Date('2024-05-02T12:30:00Z');

/**
 * before: /etc/hosts, /etc/app.conf, /logs/a.log, /logs/big.bin, /old/one.txt, /old/two.txt, /readme.txt
 * after:  /etc/app.conf grown (size + mtime), /logs/a.log same size and mtime but other bytes,
 *         /logs/b.log added, /new/deep/x.txt added, /old removed.
 */
export function fatStates(dir: string, sizeBytes = 40 * MiB): FatStates {
  const src = fs.mkdtempSync(path.join(dir, 'src-'));
  const before = fatImage(dir, 'before.bin', sizeBytes, 32, 'FILES', '0badcafe');
  for (const d of ['etc', 'logs', 'old']) mtools('mmd', '-i', before, `::/${d}`);
  const big = Buffer.alloc(300 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 9)) & 0xff;
  put(before, hostFile(src, 'hosts', '127.0.0.1 localhost\n', T0), '::/etc/hosts');
  put(before, hostFile(src, 'app.conf', 'port=80\n', T0), '::/etc/app.conf');
  put(before, hostFile(src, 'a.log', 'started ok\n', T0), '::/logs/a.log');
  put(before, hostFile(src, 'big.bin', big, T0), '::/logs/big.bin');
  put(before, hostFile(src, 'one.txt', 'one\n', T0), '::/old/one.txt');
  put(before, hostFile(src, 'two.txt', 'two\n', T0), '::/old/two.txt');
  put(before, hostFile(src, 'readme.txt', 'Grüße aus der VM\n', T0), '::/readme.txt');

  const after = path.join(dir, 'after.bin');
  fs.copyFileSync(before, after);
  put(after, hostFile(src, 'app.conf', 'port=8080\nworkers=4\n', T1), '::/etc/app.conf', true);
  put(after, hostFile(src, 'a.log', 'started KO\n', T0), '::/logs/a.log', true);
  put(after, hostFile(src, 'b.log', 'second log\n', T1), '::/logs/b.log');
  mtools('mmd', '-i', after, '::/new', '::/new/deep');
  put(after, hostFile(src, 'x.txt', 'x marks the spot\n', T1), '::/new/deep/x.txt');
  mtools('mdeltree', '-i', after, '::/old');
  return { before, after, big };
}

/**
 * An MBR disk with the FAT32 volume at 1 MiB as a monolithicSparse base, and a child link
 * (`<name>-000001.vmdk`) holding the 64 KiB pieces where `after` differs from `before`.
 */
export function fatChain(dir: string, name: string, states: FatStates): { base: string; top: string } {
  const size = fs.statSync(states.before).size;
  const raw = blankDisk(path.join(dir, `${name}.img`), size + 2 * MiB);
  sfdisk(raw, 'dos', [`start=2048, size=${size / 512}, type=c`]);
  writeAt(raw, MiB, states.before);
  const base = toVmdk(raw);
  const top = path.join(dir, `${name}-000001.vmdk`);
  qemuImg('create', '-q', '-f', 'vmdk', '-b', path.basename(base), '-F', 'vmdk', top);
  const a = fs.readFileSync(states.before);
  const b = fs.readFileSync(states.after);
  const piece = 64 * 1024;
  const commands: string[] = [];
  const blobs: string[] = [];
  for (let off = 0; off < b.length; off += piece) {
    const end = Math.min(b.length, off + piece);
    if (a.subarray(off, end).equals(b.subarray(off, end))) continue;
    const blob = path.join(dir, `.piece-${off}.bin`);
    fs.writeFileSync(blob, b.subarray(off, end));
    blobs.push(blob);
    commands.push('-c', `write -s ${blob} ${MiB + off} ${end - off}`);
  }
  execFileSync('qemu-io', ['-f', 'vmdk', ...commands, top], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const blob of blobs) fs.rmSync(blob);
  return { base, top };
}

/** Every file below a host folder `root`: relative path → bytes (base64), to compare extracted trees. */
export function hostTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else out[path.relative(root, p)] = fs.readFileSync(p).toString('base64');
    }
  };
  walk(root);
  return out;
}
