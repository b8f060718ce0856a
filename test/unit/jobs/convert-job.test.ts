import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobProgress } from '../../../shared/jobs.js';
import { openChain } from '../../../main/disk/chain.js';
import { startJob } from '../../../main/jobs/engine.js';
import { writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { expectSameAsRaw } from '../../helpers/compare.js';
import { qemuFill, qemuImg, qemuRaw, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

describe('convert jobs in worker threads', () => {
  const dir = tmpDir();
  const src = path.join(dir, 'src.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', '-o', 'adapter_type=lsilogic', src, '96M');
  qemuWrite(src, 3 * MiB + 512, patternBytes(2 * MiB, 4));
  qemuFill(src, 50 * MiB, 3 * MiB, 0x77);
  qemuFill(src, 70 * MiB, MiB, 0);
  const srcRaw = qemuRaw(src);

  for (const to of ['vmfs', 'vmfsThin', 'monolithicFlat', 'twoGbMaxExtentFlat', 'raw'] as const) {
    it(`writes ${to} equal to the source, with progress to 100 %`, async () => {
      const dst = path.join(dir, to === 'raw' ? 'out-raw.img' : `out-${to}.vmdk`);
      const seen: JobProgress[] = [];
      const job = startJob({ kind: 'convert', src, dst, to, segmentBytes: 32 * MiB }, (p) => seen.push(p));
      const result = await job.done;
      expect(seen.length).toBeGreaterThan(0);
      const last = seen[seen.length - 1]!;
      expect(last.doneBytes).toBe(last.totalBytes);
      const primary = result.outputs[0]!;
      expect(fs.existsSync(primary)).toBe(true);
      const chain = openChain(primary);
      try {
        expectSameAsRaw(chain, srcRaw);
      } finally {
        chain.close();
      }
      if (to !== 'raw') qemuImg('compare', '-q', src, primary);
      expect(fs.readdirSync(dir).filter((f) => f.includes('.partial'))).toEqual([]);
    });
  }

  it('splits twoGbMaxExtentFlat at the segment size', async () => {
    const dst = path.join(dir, 'split.vmdk');
    const result = await startJob({ kind: 'convert', src, dst, to: 'twoGbMaxExtentFlat', segmentBytes: 32 * MiB }).done;
    expect(result.outputs.map((o) => path.basename(o)).sort()).toEqual(['split-f001.vmdk', 'split-f002.vmdk', 'split-f003.vmdk', 'split.vmdk']);
    expect(fs.statSync(path.join(dir, 'split-f001.vmdk')).size).toBe(32 * MiB);
  });

  it('writes vmfs thick (every byte allocated) and vmfsThin sparse', () => {
    const thick = fs.statSync(path.join(dir, 'out-vmfs-flat.vmdk'));
    const thin = fs.statSync(path.join(dir, 'out-vmfsThin-flat.vmdk'));
    expect(thick.blocks * 512).toBeGreaterThanOrEqual(96 * MiB);
    expect(thin.blocks * 512).toBeLessThan(10 * MiB);
    expect(fs.readFileSync(path.join(dir, 'out-vmfsThin.vmdk'), 'utf8')).toContain('ddb.thinProvisioned = "1"');
  });

  it('follows --adapter with the geometry VMware writes', async () => {
    const dst = path.join(dir, 'ide.vmdk');
    await startJob({ kind: 'convert', src, dst, to: 'vmfs', adapter: 'ide' }).done;
    const text = fs.readFileSync(dst, 'utf8');
    expect(text).toContain('ddb.adapterType = "ide"');
    expect(text).toContain('ddb.geometry.heads = "16"');
    expect(text).toContain('ddb.geometry.cylinders = "195"');
  });

  it('refuses an existing destination unless forced, before writing anything', async () => {
    const dst = path.join(dir, 'exists.vmdk');
    fs.writeFileSync(dst, 'keep me');
    await expect(startJob({ kind: 'convert', src, dst, to: 'vmfs' }).done).rejects.toMatchObject({ code: 'E_EXISTS', file: dst });
    expect(fs.readFileSync(dst, 'utf8')).toBe('keep me');
    expect(fs.existsSync(path.join(dir, 'exists-flat.vmdk'))).toBe(false);
    await startJob({ kind: 'convert', src, dst, to: 'vmfs', force: true }).done;
    qemuImg('compare', '-q', src, dst);
  });

  it('refuses to write over a file of the source chain', async () => {
    const base = writeVmfsDisk(dir, 'self', 4 * MiB, patternBytes(MiB, 1));
    await expect(startJob({ kind: 'convert', src: base, dst: base, to: 'vmfs', force: true }).done).rejects.toMatchObject({ code: 'E_USAGE' });
    expect(openChain(base).capacityBytes).toBe(4 * MiB);
  });

  it('cancel stops the job and leaves no output behind', async () => {
    const big = path.join(dir, 'big.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', big, '2G');
    qemuFill(big, 0, 512 * MiB, 0x42);
    const dst = path.join(dir, 'cancelled.vmdk');
    let job: ReturnType<typeof startJob> | null = null;
    job = startJob({ kind: 'convert', src: big, dst, to: 'vmfs' }, () => job?.cancel());
    await expect(job.done).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('cancelled') || f.includes('.partial'))).toEqual([]);
  });

  it('reports bad input as the read side does', async () => {
    const junk = path.join(dir, 'junk.vmdk');
    fs.writeFileSync(junk, patternBytes(4096, 9));
    await expect(startJob({ kind: 'convert', src: junk, dst: path.join(dir, 'x.vmdk'), to: 'vmfs' }).done).rejects.toMatchObject({
      code: 'E_FORMAT',
      file: junk,
    });
  });
});
