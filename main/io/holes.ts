/**
 * Where a file's holes are (SEEK_DATA / SEEK_HOLE), through the small native addon in native/
 * (Node has no lseek). Without the addon (not built, or a system without the calls) the answer
 * falls back to what fstat tells: a file with no blocks at all is one hole (`truncate -s 4T`);
 * otherwise every byte counts as data and is read.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

interface SeekHole {
  seekData(fd: number, offset: number): number;
  seekHole(fd: number, offset: number): number;
}

function loadAddon(): SeekHole | null {
  // main/io/holes.ts and dist/main/io/holes.js are both three folders below the project.
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  for (const candidate of [path.join(root, 'build/Release/seek_hole.node'), path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../build/Release/seek_hole.node')]) {
    try {
      return createRequire(import.meta.url)(candidate) as SeekHole;
    } catch {
      // try the next place, then fall back
    }
  }
  return null;
}

let addon: SeekHole | null | undefined;

/** Whether hole queries use SEEK_DATA/SEEK_HOLE here (for the bench and the README). */
export function holesSupported(): boolean {
  addon ??= loadAddon();
  return addon !== null;
}

/** A byte range that holds data. */
export interface DataRegion {
  start: number;
  end: number;
}

/**
 * The data regions of an open file within [start, end), in order; everything else is a hole.
 * Bounded: at most `maxRegions` regions, the rest of the range then counts as data.
 */
export function dataRegions(fd: number, start: number, end: number, maxRegions = 4096): DataRegion[] {
  addon ??= loadAddon();
  if (!addon) {
    const st = fs.fstatSync(fd);
    return st.blocks === 0 && st.size > 0 ? [] : [{ start, end }];
  }
  const out: DataRegion[] = [];
  let at = start;
  try {
    while (at < end) {
      const data = addon.seekData(fd, at);
      if (data < 0 || data >= end) break;
      if (out.length >= maxRegions) {
        out.push({ start: data, end });
        break;
      }
      const hole = addon.seekHole(fd, data);
      const regionEnd = hole < 0 ? end : Math.min(end, hole);
      out.push({ start: data, end: regionEnd });
      at = regionEnd;
    }
  } catch {
    // A file system without the calls (EINVAL): read it all.
    return [{ start, end }];
  }
  return out;
}
