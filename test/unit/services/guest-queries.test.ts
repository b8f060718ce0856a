import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { guestQueries, PREVIEW_MAX, previewOf } from '../../../main/services/worker/guest-queries.js';
import { fatChain, fatStates, mtools } from '../../helpers/fat-states.js';
import { blankDisk, fatImage, MiB, run, sfdisk, toVmdk, writeAt } from '../../helpers/guest-images.js';
import { tmpDir } from '../../helpers/tmp.js';

const dir = tmpDir('diskchain-guest-queries-');

describe('preview encodings', () => {
  it('reads UTF-16 by its byte-order mark, UTF-8 when it decodes, else Latin-1', () => {
    expect(previewOf(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Grüße\r\n', 'utf16le')]))).toMatchObject({ kind: 'text', encoding: 'UTF-16LE', text: 'Grüße\r\n' });
    expect(previewOf(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('Ωmega', 'utf16le').swap16()]))).toMatchObject({ kind: 'text', encoding: 'UTF-16BE', text: 'Ωmega' });
    expect(previewOf(Buffer.from('\ufeffhello', 'utf8'))).toMatchObject({ kind: 'text', encoding: 'UTF-8', text: 'hello' });
    expect(previewOf(Buffer.from('naïve café\n', 'utf8'))).toMatchObject({ kind: 'text', encoding: 'UTF-8', text: 'naïve café\n' });
    expect(previewOf(Buffer.from('naïve café\n', 'latin1'))).toMatchObject({ kind: 'text', encoding: 'Latin-1', text: 'naïve café\n' });
  });

  it('keeps UTF-8 cut in the middle of a character as UTF-8', () => {
    const cut = Buffer.from('aé', 'utf8').subarray(0, 2);
    expect(previewOf(cut)).toMatchObject({ encoding: 'UTF-8', text: 'a' });
  });

  it('shows binary data as hex', () => {
    const p = previewOf(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00]));
    expect(p.kind).toBe('hex');
    expect(p.text).toBe('00000000  7f 45 4c 46 02 01 01 00 00                       .ELF.....');
  });
});

describe('the Files tab queries on an MBR + FAT32 chain', () => {
  const states = fatStates(dir);
  const png = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(40, 1)]);
  fs.writeFileSync(path.join(dir, 'dot.png'), png);
  fs.writeFileSync(path.join(dir, 'long.txt'), 'x'.repeat(PREVIEW_MAX + 1000));
  mtools('mcopy', '-i', states.after, path.join(dir, 'dot.png'), path.join(dir, 'long.txt'), '::/');
  const { top } = fatChain(dir, 'q', states);

  it('lists volumes, a folder, and previews at most PREVIEW_MAX bytes', () => {
    expect(guestQueries.guestVolumes({ path: top })).toEqual([
      { volume: '1', type: 'W95 FAT32 (LBA) (0x0c)', size: 40 * 1024 * 1024, fileSystem: 'fat32', label: 'FILES', content: null, readable: true, notes: [] },
    ]);
    const root = guestQueries.guestList({ path: top, dir: '/' });
    expect(root.entries.map((e) => e.name).sort()).toEqual(['dot.png', 'etc', 'logs', 'long.txt', 'new', 'readme.txt']);
    expect(guestQueries.guestList({ path: top, at: 1, dir: '/' }).entries.map((e) => e.name).sort()).toEqual(['etc', 'logs', 'old', 'readme.txt']);
    const long = guestQueries.guestPreview({ path: top, file: '/long.txt' });
    expect(long).toMatchObject({ kind: 'text', size: PREVIEW_MAX + 1000, truncated: true });
    expect(long.text).toHaveLength(PREVIEW_MAX);
    const image = guestQueries.guestPreview({ path: top, file: '/DOT.PNG' });
    expect(image).toMatchObject({ kind: 'image', mime: 'image/png', truncated: false });
    expect(Buffer.from(image.base64!, 'base64')).toEqual(png);
  });

  it('lists what link 0 changed over link 1', () => {
    const diff = guestQueries.guestDiff({ path: top, dir: '/' });
    expect(diff.changes.map((c) => `${c.change} ${c.path}`).sort()).toEqual([
      'added /dot.png',
      'added /logs/b.log',
      'added /long.txt',
      'added /new',
      'added /new/deep',
      'added /new/deep/x.txt',
      'changed /etc/app.conf',
      'removed /old',
      'removed /old/one.txt',
      'removed /old/two.txt',
    ]);
    expect(() => guestQueries.guestDiff({ path: top, at: 1, dir: '/' })).toThrow(/^link 1 is the base of the chain; it has no parent to compare with$/);
  });

  it('marks a volume without a reader (swap) as not readable', () => {
    const raw = blankDisk(path.join(dir, 'two.img'), 40 * MiB);
    sfdisk(raw, 'dos', ['start=2048, size=20480, type=c', 'start=22528, size=16384, type=82']);
    writeAt(raw, MiB, fatImage(dir, 'two-fat.bin', 10 * MiB, 16, 'DATA', '11112222'));
    const swap = blankDisk(path.join(dir, 'swap.bin'), 8 * MiB);
    run('mkswap', ['-q', swap]);
    writeAt(raw, 22528 * 512, swap);
    const rows = guestQueries.guestVolumes({ path: toVmdk(raw) });
    expect(rows.map((r) => [r.volume, r.fileSystem, r.content, r.readable])).toEqual([
      ['1', 'fat16', null, true],
      ['2', null, 'swap', false],
    ]);
  });
});
