/**
 * Thin flat extents (issue 14): a `truncate -s` raw or a thin -flat.vmdk has holes the engine
 * finds with SEEK_DATA/SEEK_HOLE instead of reading them, reports as zero runs, and skips in
 * every writer and in the space estimate.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { dataBytes } from '../../../main/disk/source.js';
import { convertJob } from '../../../main/convert/convert.js';
import { holesSupported } from '../../../main/io/holes.js';
import { inlineContext } from '../../../main/io/job-context.js';
import { writeDescriptor } from '../../fixtures/descriptor-builder.js';
import { qemuImg } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('thin flat extents', () => {
  const dir = tmpDir();

  it('finds holes with the native SEEK_DATA/SEEK_HOLE addon', () => {
    expect(holesSupported()).toBe(true);
  });

  it('maps a 4 TiB truncated raw as one zero run and estimates no data', () => {
    const raw = path.join(dir, 'empty.img');
    fs.writeFileSync(raw, '');
    fs.truncateSync(raw, 4 * 1024 * GiB);
    const chain = openChain(raw);
    try {
      expect(chain.mapRuns(0, chain.capacityBytes).filter((r) => r.state === 'data')).toEqual([]);
      expect(dataBytes(chain)).toBe(0);
      expect(chain.top.data.allocatedBytes()).toBe(0);
    } finally {
      chain.close();
    }
  });

  it('maps data only where a thin -flat.vmdk holds it, and converts to a sparse disk equal to qemu-img', async () => {
    const flat = path.join(dir, 'thin-flat.vmdk');
    fs.writeFileSync(flat, '');
    fs.truncateSync(flat, 64 * GiB);
    const fd = fs.openSync(flat, 'r+');
    fs.writeSync(fd, patternBytes(MiB, 9), 0, MiB, 5 * GiB);
    fs.writeSync(fd, patternBytes(64 * 1024, 10), 0, 64 * 1024, 40 * GiB);
    fs.closeSync(fd);
    const disk = writeDescriptor(path.join(dir, 'thin.vmdk'), { createType: 'vmfs', extents: [`RW ${(64 * GiB) / 512} VMFS "thin-flat.vmdk"`] });
    const chain = openChain(disk);
    try {
      const data = chain.mapRuns(0, chain.capacityBytes).filter((r) => r.state === 'data');
      expect(data.map((r) => r.offset)).toEqual([5 * GiB, 40 * GiB]);
      expect(dataBytes(chain)).toBeLessThan(8 * MiB);
    } finally {
      chain.close();
    }
    const out = path.join(dir, 'out.vmdk');
    await convertJob({ kind: 'convert', src: disk, dst: out, to: 'monolithicSparse' }, inlineContext());
    expect(fs.statSync(out).size).toBeLessThan(64 * MiB);
    expect(qemuImg('compare', '-q', disk, out)).toBe('');
  });
});
