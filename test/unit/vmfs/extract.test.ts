import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getFromVmfs } from '../../../main/vmfs/extract.js';
import { openVmfsImages } from '../../../main/vmfs/images.js';
import { buildVmfs } from '../../fixtures/vmfs-builder.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

describe('copying out of a VMFS volume', () => {
  const dir = tmpDir('vmfs-get-');
  const built = buildVmfs(dir, 'names', {
    version: 5,
    label: 'ds-names',
    files: [
      { path: '/vm/README', content: Buffer.from('upper\n') },
      { path: '/vm/readme', content: Buffer.from('lower\n') },
      { path: '/vm/a:b', content: Buffer.from('colon\n') },
      { path: '/vm/thick-zeros.bin', content: Buffer.alloc(3 * MiB), layout: 'direct' },
      { path: '/vm/link', kind: 'symlink', target: 'README' },
    ],
  });

  it('keeps every name on Linux, maps and separates them where Windows would merge or refuse them', () => {
    const o = openVmfsImages(built.images);
    try {
      const vm = o.volume.lookup('/vm');
      const linux = path.join(dir, 'linux');
      const r1 = getFromVmfs(o.volume, vm, '/vm', linux, { platform: 'linux' });
      expect(fs.readdirSync(linux).sort()).toEqual(['README', 'a:b', 'link', 'readme', 'thick-zeros.bin']);
      expect(fs.readlinkSync(path.join(linux, 'link'))).toBe('README');
      expect(r1).toMatchObject({ files: 5, folders: 1, failed: [] });
      // A thick file of zeros is all holes in the copy.
      expect(fs.statSync(path.join(linux, 'thick-zeros.bin'))).toMatchObject({ size: 3 * MiB, blocks: 0 });
      expect(r1.writtenBytes).toBe(18);

      const win = path.join(dir, 'win');
      const notes: string[] = [];
      const r2 = getFromVmfs(o.volume, vm, '/vm', win, { platform: 'win32', onNote: (l) => notes.push(l) });
      expect(fs.readdirSync(win).sort()).toEqual(['README', 'a_b', 'readme~2', 'thick-zeros.bin']);
      expect(fs.readFileSync(path.join(win, 'readme~2'), 'utf8')).toBe('lower\n');
      expect(r2.skipped).toEqual([{ path: '/vm/link', reason: 'symbolic link not written here' }]);
      expect(notes).toEqual(['/vm/link: skipped: symbolic link not written here']);
    } finally {
      o.close();
    }
  });

  it('refuses a DEST whose folder does not exist, and never leaves a temp file behind', () => {
    const o = openVmfsImages(built.images);
    try {
      expect(() => getFromVmfs(o.volume, o.volume.lookup('/vm/README'), '/vm/README', path.join(dir, 'no', 'such', 'x'))).toThrow(/folder .*no\/such does not exist/);
      const out = path.join(dir, 'one');
      fs.mkdirSync(out);
      getFromVmfs(o.volume, o.volume.lookup('/vm/README'), '/vm/README', out);
      expect(fs.readdirSync(out)).toEqual(['README']);
    } finally {
      o.close();
    }
  });
});
