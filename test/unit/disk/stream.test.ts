import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { flatChunks } from '../../../main/disk/stream.js';
import { qemuFill, qemuImg, qemuRaw, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The disk as flatChunks hands it on, hashed piece by piece (each piece used before the next is taken). */
function flatHash(disk: string, chunkBytes?: number, pieceBytes?: number): { sha: string; bytes: number; pieces: number } {
  const chain = openChain(disk);
  const hash = createHash('sha256');
  let bytes = 0;
  let pieces = 0;
  try {
    for (const piece of flatChunks(chain, chunkBytes, pieceBytes)) {
      hash.update(piece);
      bytes += piece.length;
      pieces++;
    }
  } finally {
    chain.close();
  }
  return { sha: hash.digest('hex'), bytes, pieces };
}

const fileSha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('flatChunks reads each run from the link that holds it', () => {
  const dir = tmpDir();
  const base = path.join(dir, 'base.vmdk');
  const top = path.join(dir, 'top.vmdk');
  // A parent with data across chunk boundaries, a child that covers parts of it at odd offsets
  // (partial grains fall through to the parent), and a zeroed range in the child over parent data.
  qemuImg('create', '-q', '-f', 'vmdk', base, '24M');
  qemuFill(base, 3 * MiB - 5 * KiB, 6 * MiB, 0x11);
  qemuWrite(base, 17 * MiB + 3, patternBytes(700_000, 2));
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', top);
  qemuWrite(top, 4 * MiB + 1000, patternBytes(300_000, 3));
  qemuFill(top, 20 * MiB, 2 * MiB, 0x7e);
  const expected = fileSha(qemuRaw(top));

  it.each([
    ['the default chunk and piece sizes', undefined, undefined],
    ['1 MiB chunks of 48 KiB pieces (pieces end inside grains)', MiB, 48 * KiB],
    ['64 KiB chunks of 4 KiB pieces', 64 * KiB, 4 * KiB],
  ])('a hosted chain reads as qemu-img reads it, with %s', (_name, chunk, piece) => {
    const got = flatHash(top, chunk, piece);
    expect(got.bytes).toBe(24 * MiB);
    expect(got.sha).toBe(expected);
  });

  it('a streamOptimized disk (compressed grains, no plain bytes to read) reads as qemu-img reads it', () => {
    const stream = path.join(dir, 'stream.vmdk');
    qemuImg('convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized', top, stream);
    expect(flatHash(stream, MiB, 48 * KiB).sha).toBe(expected);
  });

  it('a twoGbMaxExtentFlat disk (flat extents) reads as qemu-img reads it', () => {
    const flat = path.join(dir, 'flat.vmdk');
    qemuImg('convert', '-O', 'vmdk', '-o', 'subformat=twoGbMaxExtentFlat', top, flat);
    expect(flatHash(flat, MiB, 48 * KiB).sha).toBe(expected);
  });

  it('holes come as slices of one zero buffer, not as reads', () => {
    const empty = path.join(dir, 'empty.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', empty, '64M');
    const got = flatHash(empty);
    expect(got.pieces).toBe(16);
    expect(got.sha).toBe(createHash('sha256').update(Buffer.alloc(64 * MiB)).digest('hex'));
  });
});

describe('flatChunks reads long runs of grains straight from the file, cut where a child covers them', () => {
  const dir = tmpDir();
  const base = path.join(dir, 'base.vmdk');
  const top = path.join(dir, 'top.vmdk');
  // 64 KiB grains, 512 to a table: a table spans 32 MiB. One 69 MiB write lays the base's grains
  // back to back in its file across two table edges; a later write below it lands after them in
  // the file, so the positions jump back where the two meet.
  qemuImg('create', '-q', '-f', 'vmdk', base, '80M');
  qemuWrite(base, 9 * MiB - 3 * KiB, patternBytes(69 * MiB, 5));
  qemuWrite(base, 2 * MiB + 512, patternBytes(7 * MiB - 2 * KiB, 6));
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', top);
  // The child covers parts of the parent's long run: inside a grain, across the 32 MiB table edge, at its end.
  qemuWrite(top, 12 * MiB + 1000, patternBytes(300_000, 7));
  qemuWrite(top, 32 * MiB - 70 * KiB, patternBytes(200 * KiB, 8));
  qemuFill(top, 78 * MiB - 64 * KiB, 64 * KiB, 0x3c);
  const raw = qemuRaw(top);
  const expected = fileSha(raw);

  it.each([
    ['the default chunk and piece sizes', undefined, undefined],
    ['1 MiB chunks of 48 KiB pieces', MiB, 48 * KiB],
    ['64 KiB chunks of 4 KiB pieces', 64 * KiB, 4 * KiB],
  ])('reads as qemu-img convert -O raw reads it, with %s', (_name, chunk, piece) => {
    const got = flatHash(top, chunk, piece);
    expect(got.bytes).toBe(80 * MiB);
    expect(got.sha).toBe(expected);
  });

  it('maps the parent run as few runs, each naming where its bytes lie in the file', () => {
    const chain = openChain(top);
    try {
      const runs = chain.mapRuns(0, chain.capacityBytes, true);
      const placed = runs.filter((r) => r.position !== undefined);
      // The parent's run across both table edges is one run wherever the child leaves it alone.
      expect(placed.some((r) => r.layer === 1 && r.offset < 32 * MiB + 200 * KiB && r.offset + r.length > 64 * MiB + 64 * KiB)).toBe(true);
      expect(placed.length).toBeLessThan(12);
      // Every placed run's bytes, read from its file at its position, are the disk's bytes there.
      const disk = fs.openSync(raw, 'r');
      try {
        for (const run of placed) {
          const fromFile = Buffer.alloc(run.length);
          const fromRaw = Buffer.alloc(run.length);
          const fd = fs.openSync(run.file!, 'r');
          fs.readSync(fd, fromFile, 0, run.length, run.position!);
          fs.closeSync(fd);
          fs.readSync(disk, fromRaw, 0, run.length, run.offset);
          expect(fromFile.equals(fromRaw)).toBe(true);
        }
      } finally {
        fs.closeSync(disk);
      }
      // Without backing the map stays as it was: one run per link and state.
      expect(chain.mapRuns(0, chain.capacityBytes).every((r) => r.position === undefined)).toBe(true);
    } finally {
      chain.close();
    }
  });
});
