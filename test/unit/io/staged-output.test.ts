import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StagedOutput, WRITE_BEHIND_BYTES } from '../../../main/io/staged-output.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const openFds = (): number => fs.readdirSync('/proc/self/fd').length;

describe('OutFile.writeBehind: the disk writes while the copy goes on', () => {
  const dir = tmpDir();

  it('asks for nothing until WRITE_BEHIND_BYTES are written, then yields once per WRITE_BEHIND_BYTES', async () => {
    const out = StagedOutput.create(dir, ['a.bin']);
    const file = out.open('a.bin');
    const piece = Buffer.alloc(4 * MiB, 0x5a);
    let yields = 0;
    for (let at = 0; at < 3 * WRITE_BEHIND_BYTES; at += piece.length) {
      file.writeAt(piece, at);
      const behind = file.writeBehind();
      if (behind) {
        yields++;
        await behind;
      }
    }
    expect(yields).toBe(3);
    const [written] = out.commit('a.bin');
    expect(fs.statSync(written!).size).toBe(3 * WRITE_BEHIND_BYTES);
  });

  it('keeps every byte, in order, with background syncs running under the writes', async () => {
    const out = StagedOutput.create(dir, ['b.bin']);
    const file = out.open('b.bin');
    const hash = createHash('sha256');
    const piece = Buffer.alloc(8 * MiB);
    for (let i = 0; i < (2 * WRITE_BEHIND_BYTES) / piece.length + 3; i++) {
      piece.fill(i + 1);
      hash.update(piece);
      file.append(piece);
      await file.writeBehind();
    }
    const [written] = out.commit('b.bin');
    expect(createHash('sha256').update(fs.readFileSync(written!)).digest('hex')).toBe(hash.digest('hex'));
  });

  it('abort during a background sync removes the output and leaves no descriptor open', async () => {
    const before = openFds();
    const out = StagedOutput.create(dir, ['c.bin']);
    const file = out.open('c.bin');
    file.writeAt(Buffer.alloc(WRITE_BEHIND_BYTES, 1), 0);
    await file.writeBehind();
    // A sync was just started on the thread pool; abort closes the file under it.
    out.abort();
    expect(fs.existsSync(path.join(dir, 'c.bin'))).toBe(false);
    for (let i = 0; i < 500 && openFds() > before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(openFds()).toBe(before);
  });
});
