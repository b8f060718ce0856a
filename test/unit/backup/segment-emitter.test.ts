import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inlineContext } from '../../../main/io/job-context.js';
import { scanChain } from '../../../main/backup/scan.js';
import { emitSparseExtent, sparseExtentBytes, type SparseExtentSpec } from '../../../main/backup/segment-emitter.js';
import { BLOCK, TAR_END, tarHeader, tarPadding, TarReader, type ReadInput } from '../../../main/backup/tar.js';
import { convertJob } from '../../../main/convert/convert.js';
import { openChain } from '../../../main/disk/chain.js';
import { qemuFill, qemuImg, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

describe('sequential sparse segments', () => {
  const dir = tmpDir();
  const src = path.join(dir, 'src.vmdk');
  // 100 MiB and a bit: the last segment ends in a partial grain.
  qemuImg('create', '-q', '-f', 'vmdk', src, `${100 * MiB + 4096}`);
  qemuWrite(src, 3 * MiB + 512, patternBytes(2 * MiB, 4));
  qemuFill(src, 40 * MiB, 3 * MiB, 0x77);
  qemuFill(src, 60 * MiB, MiB, 0);
  qemuWrite(src, 100 * MiB, patternBytes(4096, 5));

  it('emits front to back the same bytes the positional writer writes for the same grains', async () => {
    const segmentBytes = 32 * MiB;
    const out = path.join(dir, 'export.vmdk');
    await convertJob({ kind: 'convert', src, dst: out, to: 'twoGbMaxExtentSparse', segmentBytes, skipZeroGrains: true }, inlineContext());
    const chain = openChain(src);
    try {
      const { nonZero } = scanChain(chain, true, inlineContext(), () => {});
      const segments = fs.readdirSync(dir).filter((n) => /^export-s\d{3}\.vmdk$/.test(n)).sort();
      expect(segments).toHaveLength(4);
      segments.forEach((name, i) => {
        const start = i * segmentBytes;
        const spec: SparseExtentSpec = {
          capacityBytes: Math.min(segmentBytes, chain.capacityBytes - start),
          descriptor: null,
          kept: nonZero!,
          firstGrain: start / 65536,
        };
        const parts: Buffer[] = [];
        // Emitted buffers are reused: copy each before asking for the next.
        for (const chunk of emitSparseExtent(spec, (buf, offset) => chain.read(buf, start + offset))) parts.push(Buffer.from(chunk));
        const emitted = Buffer.concat(parts);
        expect(emitted.length).toBe(sparseExtentBytes(spec));
        expect(emitted.equals(fs.readFileSync(path.join(dir, name))), name).toBe(true);
      });
    } finally {
      chain.close();
    }
  });

  it('hashes the flattened disk as qemu reads it', () => {
    const raw = path.join(dir, 'src.raw');
    qemuImg('convert', '-O', 'raw', src, raw);
    const expected = execFileSync('sha256sum', [raw], { encoding: 'utf8' }).split(' ')[0];
    const chain = openChain(src);
    try {
      expect(scanChain(chain, false, inlineContext(), () => {}).sha256).toBe(expected);
    } finally {
      chain.close();
    }
  });
});

describe('tar streams', () => {
  const dir = tmpDir();

  function writeTar(file: string, entries: Array<[string, Buffer]>): void {
    const parts: Buffer[] = [];
    for (const [name, data] of entries) parts.push(tarHeader(name, data.length, new Date(0)), data, tarPadding(data.length));
    parts.push(TAR_END);
    fs.writeFileSync(file, Buffer.concat(parts));
  }

  function bufferInput(data: Buffer): ReadInput {
    let at = 0;
    return (buf) => {
      const n = Math.min(buf.length, data.length - at);
      data.copy(buf, 0, at, at + n);
      at += n;
      return n;
    };
  }

  function readAll(data: Buffer): Array<[string, string]> {
    const reader = new TarReader(bufferInput(data), 'test.tar');
    const out: Array<[string, string]> = [];
    for (let e = reader.next(); e; e = reader.next()) {
      const body = Buffer.alloc(e.sizeBytes);
      for (let at = 0; at < body.length; ) at += reader.readData(body.subarray(at));
      out.push([e.name, body.toString('latin1')]);
    }
    return out;
  }

  it('writes what tar lists and extracts, in order', () => {
    const file = path.join(dir, 'a.tar');
    writeTar(file, [
      ['manifest.json', Buffer.from('{}\n')],
      ['web 01-s001.vmdk', patternBytes(5000, 1)],
      ['empty', Buffer.alloc(0)],
    ]);
    expect(execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n')).toEqual(['manifest.json', 'web 01-s001.vmdk', 'empty']);
    const out = path.join(dir, 'x');
    fs.mkdirSync(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    expect(fs.readFileSync(path.join(out, 'web 01-s001.vmdk')).equals(patternBytes(5000, 1))).toBe(true);
    expect(readAll(fs.readFileSync(file)).map(([n, b]) => [n, b.length])).toEqual([
      ['manifest.json', 3],
      ['web 01-s001.vmdk', 5000],
      ['empty', 0],
    ]);
  });

  it('reads what GNU tar and pax write: ./ prefixes, folders, long names', () => {
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    const long = `${'n'.repeat(120)}.vmdk`;
    fs.writeFileSync(path.join(src, 'manifest.json'), 'M');
    fs.writeFileSync(path.join(src, long), 'L');
    for (const format of ['gnu', 'pax']) {
      const file = path.join(dir, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-cf', file, '-C', src, '.']);
      expect(readAll(fs.readFileSync(file)).sort()).toEqual([
        ['manifest.json', 'M'],
        [long, 'L'],
      ]);
    }
  });

  it('calls a stream cut off anywhere cut off, and a non-tar not a tar', () => {
    const whole = Buffer.concat([tarHeader('a', 3000, new Date(0)), patternBytes(3000, 2), tarPadding(3000), TAR_END]);
    for (const cut of [100, BLOCK, BLOCK + 1000, whole.length - TAR_END.length]) {
      expect(() => readAll(whole.subarray(0, cut))).toThrow(/cut off/);
    }
    expect(() => readAll(patternBytes(4096, 3))).toThrow(/not a tar stream/);
  });
});
