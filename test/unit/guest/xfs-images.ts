/**
 * XFS test volumes built at test time with mkfs.xfs and a protofile (no root, no mount), plus xfs_db as
 * the independent oracle (sleuthkit 4.11 in Debian 12 has no XFS).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32cWithHole } from '../../../main/guest/xfs/crc32c.js';

/** Deterministic bytes (xorshift32), so a wrong offset or a swapped block shows. */
export function patternBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export interface TreeFile {
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  bytes?: Buffer;
  target?: string;
}

export const LONG_TARGET = `${'far/away/'.repeat(70)}target.txt`;
export const BIG_DIR_ENTRIES = 10_000;

/** The content every image holds: names of several kinds, sizes around block edges, all four folder forms. */
export function contentTree(): TreeFile[] {
  const tree: TreeFile[] = [
    { path: 'hello.txt', kind: 'file', bytes: Buffer.from('hello from xfs\n') },
    { path: 'empty', kind: 'file', bytes: Buffer.alloc(0) },
    { path: 'block-edge.bin', kind: 'file', bytes: patternBytes(4096, 7) },
    { path: 'data.bin', kind: 'file', bytes: patternBytes(300_000 + 123, 11) },
    { path: 'naïve-日本.txt', kind: 'file', bytes: Buffer.from('unicode name\n') },
    { path: 'scratch.bin', kind: 'file', bytes: patternBytes(64 * 1024, 13) },
    { path: 'link', kind: 'symlink', target: 'hello.txt' },
    { path: 'long-link', kind: 'symlink', target: LONG_TARGET },
    { path: 'etc', kind: 'dir' },
    { path: 'etc/hostname', kind: 'file', bytes: Buffer.from('web01\n') },
    { path: 'etc/deep', kind: 'dir' },
    { path: 'etc/deep/er', kind: 'dir' },
    { path: 'etc/deep/er/file.cfg', kind: 'file', bytes: patternBytes(5000, 17) },
    { path: 'forty', kind: 'dir' },
    { path: 'three-hundred', kind: 'dir' },
    { path: 'big', kind: 'dir' },
  ];
  for (let i = 0; i < 40; i++) tree.push({ path: `forty/entry-${i}.txt`, kind: 'file', bytes: Buffer.from(`entry ${i}\n`) });
  for (let i = 0; i < 300; i++) tree.push({ path: `three-hundred/a-rather-long-file-name-number-${i}.log`, kind: 'file', bytes: Buffer.from(`log ${i}\n`) });
  for (let i = 0; i < BIG_DIR_ENTRIES; i++) tree.push({ path: `big/f${String(i).padStart(5, '0')}`, kind: 'file', bytes: Buffer.alloc(0) });
  return tree;
}

/** Writes the source files and a protofile for `tree`; returns the protofile's path. */
function writeProto(folder: string, tree: TreeFile[]): string {
  const src = join(folder, 'src');
  mkdirSync(src, { recursive: true });
  const emptyFile = join(src, 'empty-source');
  writeFileSync(emptyFile, '');
  const lines = ['/dummy', '0 0', 'd--755 0 0'];
  const walk = (dir: string, depth: number): void => {
    for (const item of tree.filter((t) => t.path.split('/').slice(0, -1).join('/') === dir)) {
      const name = item.path.split('/').pop()!;
      const indent = ' '.repeat(depth);
      if (item.kind === 'dir') {
        lines.push(`${indent}${name} d--755 0 0`);
        walk(item.path, depth + 1);
        lines.push(`${indent}$`);
      } else if (item.kind === 'symlink') {
        lines.push(`${indent}${name} l--777 0 0 ${item.target}`);
      } else {
        let source = emptyFile;
        if (item.bytes!.length > 0) {
          source = join(src, item.path.replaceAll('/', '_'));
          writeFileSync(source, item.bytes!);
        }
        lines.push(`${indent}${name} ---644 1000 100 ${source}`);
      }
    }
  };
  walk('', 1);
  lines.push('$');
  const proto = join(folder, 'proto.txt');
  writeFileSync(proto, `${lines.join('\n')}\n`);
  return proto;
}

/** Builds a sparse XFS image; `options` are extra mkfs.xfs arguments (e.g. ['-m', 'crc=0'] for v4). */
export function buildXfsImage(folder: string, name: string, tree: TreeFile[], options: string[], sizeMiB = 64): string {
  mkdirSync(folder, { recursive: true });
  const proto = writeProto(join(folder, `${name}-content`), tree);
  const image = join(folder, `${name}.img`);
  execFileSync('truncate', ['-s', `${sizeMiB}M`, image]);
  // These variables let mkfs.xfs make a volume under its 300 MB floor (file-level.md §6).
  execFileSync('mkfs.xfs', ['-q', '-f', '-L', name.slice(0, 12), '-m', 'uuid=5f3e0c6a-1b2c-4d5e-8f90-a1b2c3d4e5f6', ...options, '-p', proto, image], {
    env: { ...process.env, TEST_DIR: folder, TEST_DEV: '/dev/null', QA_CHECK_FS: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return image;
}

/** Runs xfs_db commands read-only (or in expert mode to damage or reshape an image) and returns stdout. */
export function xfsDb(image: string, commands: string[], expert = false): string {
  const args = [expert ? '-x' : '-r', ...commands.flatMap((c) => ['-c', c]), image];
  return execFileSync('xfs_db', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 });
}

export interface DbEntry {
  ino: number;
  type: string;
  name: string;
}

/** xfs_db's `ls` of a folder: "offset ino type hash namelen name (good)" rows, without . and .. */
export function xfsDbList(image: string, path: string): DbEntry[] {
  const rows: DbEntry[] = [];
  for (const line of xfsDb(image, [`ls ${path}`]).split('\n')) {
    const m = /^\s*\d+\s+(\d+)\s+(\S+)\s+0x[0-9a-f]+\s+\d+\s+(.*) \(good\)$/.exec(line);
    if (m && m[3] !== '.' && m[3] !== '..') rows.push({ ino: Number(m[1]), type: m[2]!, name: m[3]! });
  }
  return rows;
}

/** The extents of inode ino as xfs_db's bmap prints them. */
export function xfsDbBmap(image: string, ino: number): { fileBlock: number; fsBlock: number; count: number; unwritten: boolean }[] {
  return [...xfsDb(image, [`inode ${ino}`, 'bmap']).matchAll(/data offset (\d+) startblock (\d+) \(\d+\/\d+\) count (\d+) flag (\d)/g)].map((m) => ({
    fileBlock: Number(m[1]),
    fsBlock: Number(m[2]),
    count: Number(m[3]),
    unwritten: m[4] === '1',
  }));
}

/**
 * mkfs.xfs 6.1's protofile writes a v5 remote symlink's target without the XSLM block header (xfs_repair
 * then clears it). This writes the header the kernel would, with its CRC.
 */
export function repairRemoteSymlink(image: string, ino: number, target: string): void {
  const [extent] = xfsDbBmap(image, ino);
  const blockSize = 4096;
  const block = Buffer.alloc(blockSize);
  block.writeUInt32BE(0x58534c4d, 0); // XSLM
  block.writeUInt32BE(0, 4);
  block.writeUInt32BE(target.length, 8);
  Buffer.from('5f3e0c6a1b2c4d5e8f90a1b2c3d4e5f6', 'hex').copy(block, 16);
  block.writeBigUInt64BE(BigInt(ino), 32);
  block.writeBigUInt64BE(BigInt(extent!.fsBlock * (blockSize / 512)), 40);
  block.write(target, 56);
  // CRC-32C over the whole block with the field zeroed, stored little-endian; xfs_repair -n checks it.
  block.writeUInt32LE(crc32cWithHole(block, 12), 12);
  const fd = openSync(image, 'r+');
  writeSync(fd, block, 0, blockSize, extent!.fsBlock * blockSize);
  closeSync(fd);
}

export interface CraftedExtent {
  fileBlock: number;
  fsBlock: number;
  count: number;
  unwritten?: boolean;
}

/**
 * mkfs.xfs cannot make a fragmented file without a mount (its protofile writer even overruns AG headers
 * with a file larger than one extent), so this rewrites an inode's extent list with xfs_db in expert
 * mode, which also updates a v5 inode's CRC. Gaps between the extents are holes.
 */
export function rewriteExtents(image: string, ino: number, extents: CraftedExtent[], size: number, v5: boolean): void {
  const fork = v5 ? 'u3.bmx' : 'u.bmx';
  const commands = [`inode ${ino}`, `write core.nextents ${extents.length}`, `write core.size ${size}`];
  extents.forEach((e, i) => {
    commands.push(`write ${fork}[${i}].startoff ${e.fileBlock}`, `write ${fork}[${i}].startblock ${e.fsBlock}`);
    commands.push(`write ${fork}[${i}].blockcount ${e.count}`, `write ${fork}[${i}].extentflag ${e.unwritten ? 1 : 0}`);
  });
  xfsDb(image, commands, true);
}

/**
 * Turns an inode into btree form: a level-1 root in the inode pointing at `leafBlock`, a bmbt leaf
 * holding `extents`. With `loop` (v4), the root is level 2 and the block at leafBlock is a level-1 node
 * that points at itself. xfs_db writes the v4 leaf; it will not write a v5 block that does not verify
 * yet, so the v5 leaf (BMA3 header with owner, UUID, address and CRC) is written here and xfs_db's
 * `bmap` then proves it sound.
 */
export function makeBtreeFile(image: string, ino: number, leafBlock: number, extents: CraftedExtent[], size: number, options: { loop?: boolean; v5?: boolean } = {}): void {
  const root = options.v5 ? 'u3.bmbt' : 'u.bmbt';
  const commands = [`inode ${ino}`, 'write core.format 3', `write core.nextents ${extents.length}`, `write core.size ${size}`];
  commands.push(`write ${root}.level ${options.loop ? 2 : 1}`, `write ${root}.numrecs 1`, `write ${root}.keys[1].startoff 0`, `write ${root}.ptrs[1] ${leafBlock}`);
  if (options.v5) {
    writeV5Leaf(image, ino, leafBlock, extents);
    xfsDb(image, commands, true);
    return;
  }
  commands.push(`fsblock ${leafBlock}`, 'type bmapbtd', 'write magic 0x424d4150', 'write leftsib -- -1', 'write rightsib -- -1');
  if (options.loop) {
    commands.push('write level 1', 'write numrecs 1', 'write keys[1].startoff 0', `write ptrs[1] ${leafBlock}`);
  } else {
    commands.push('write level 0', `write numrecs ${extents.length}`);
    extents.forEach((e, i) => {
      commands.push(`write recs[${i + 1}].startoff ${e.fileBlock}`, `write recs[${i + 1}].startblock ${e.fsBlock}`);
      commands.push(`write recs[${i + 1}].blockcount ${e.count}`, `write recs[${i + 1}].extentflag ${e.unwritten ? 1 : 0}`);
    });
  }
  xfsDb(image, commands, true);
}

function writeV5Leaf(image: string, ino: number, leafBlock: number, extents: CraftedExtent[]): void {
  const blockSize = 4096;
  const block = Buffer.alloc(blockSize);
  block.writeUInt32BE(0x424d4133, 0); // BMA3
  block.writeUInt16BE(0, 4);
  block.writeUInt16BE(extents.length, 6);
  block.writeBigUInt64BE(0xffffffffffffffffn, 8);
  block.writeBigUInt64BE(0xffffffffffffffffn, 16);
  block.writeBigUInt64BE(BigInt(leafBlock * (blockSize / 512)), 24);
  Buffer.from('5f3e0c6a1b2c4d5e8f90a1b2c3d4e5f6', 'hex').copy(block, 40);
  block.writeBigUInt64BE(BigInt(ino), 56);
  extents.forEach((e, i) => {
    const record = (BigInt(e.unwritten ? 1 : 0) << 127n) | (BigInt(e.fileBlock) << 73n) | (BigInt(e.fsBlock) << 21n) | BigInt(e.count);
    block.writeBigUInt64BE(record >> 64n, 72 + i * 16);
    block.writeBigUInt64BE(record & 0xffffffffffffffffn, 80 + i * 16);
  });
  block.writeUInt32LE(crc32cWithHole(block, 64), 64);
  const fd = openSync(image, 'r+');
  writeSync(fd, block, 0, blockSize, leafBlock * blockSize);
  closeSync(fd);
}

/** The bytes a crafted file should read as: blocks of `source` (whose first block is fsBlock `base`), zeros for holes and unwritten extents. */
export function expectedCraftedBytes(source: Buffer, base: number, extents: CraftedExtent[], size: number, blockSize = 4096): Buffer {
  const out = Buffer.alloc(size);
  for (const e of extents) {
    if (e.unwritten) continue;
    const from = (e.fsBlock - base) * blockSize;
    source.copy(out, e.fileBlock * blockSize, from, from + e.count * blockSize);
  }
  return out;
}
