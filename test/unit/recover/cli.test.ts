import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diskchain } from '../../helpers/cli.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

describe('diskchain recover and rebuild-descriptor (built CLI)', () => {
  const dir = tmpDir('diskchain-recover-cli-');
  const src = path.join(dir, 'cut.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', src, '16M');
  qemuFill(src, 0, MiB, 0x11);
  qemuFill(src, 8 * MiB, MiB, 0x22);
  fs.truncateSync(src, fs.statSync(src).size - MiB / 2);

  it('prints the lost LBA ranges as JSON and exits 1 when data was lost', () => {
    const r = diskchain(['recover', '--json', src, path.join(dir, 'out.vmdk')]);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.text) as { lost: Array<{ start: number; length: number }>; savedBytes: number; lostBytes: number };
    expect(report.lost).toEqual([{ start: (8 * MiB + MiB / 2) / 512, length: MiB / 2 / 512 }]);
    expect(report.lostBytes).toBe(MiB / 2);
    expect(report.savedBytes).toBe(MiB + MiB / 2);
    expect(r.stderr).toMatch(/^recovered .*out\.vmdk: /m);
    qemuImg('check', '-q', path.join(dir, 'out.vmdk'));
  });

  it('refuses to replace a descriptor in one line', () => {
    const flat = path.join(dir, 'x-flat.vmdk');
    fs.writeFileSync(flat, Buffer.alloc(MiB));
    expect(diskchain(['rebuild-descriptor', flat]).status).toBe(0);
    const again = diskchain(['rebuild-descriptor', flat]);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(`diskchain: ${path.join(dir, 'x.vmdk')}: already exists: rebuild-descriptor never replaces a file\n`);
  });
});
