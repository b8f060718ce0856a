/**
 * The file catalog over archives read through the archive source: `diskchain backup` of a VM whose
 * ext4 volume holds an 8 MiB file, in 1 MiB segments, then one byte of one segment flipped. The
 * index still lists every file; `catalog get` refuses exactly the file whose data lies in the
 * damaged segment, naming the file and the segment, and restores the others. A --keep-chain
 * archive made after a change is indexed at each of its links.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FilePage } from '../../../main/catalog/types.js';
import { parseManifest } from '../../../main/formats/manifest.js';
import { changeNginx, makeGuestVm, NGINX_AFTER, NGINX_BEFORE, PART_START } from '../../helpers/archive-vm.js';
import { diskchain } from '../../helpers/cli.js';
import { MiB } from '../../helpers/guest-images.js';
import { tmpDir } from '../../helpers/tmp.js';

const root = tmpDir('diskchain-archive-index-');

function ok(args: string[]): ReturnType<typeof diskchain> {
  const r = diskchain(args);
  expect(r.status, r.stderr).toBe(0);
  return r;
}

describe('catalog index and get read archives through the archive source', () => {
  const vm = makeGuestVm(root);
  const nas = path.join(root, 'nas');
  const damaged = path.join(nas, 'web01-damaged');
  ok(['backup', '--progress', 'none', '--segment-size', '1M', vm.vmx, damaged]);
  // After the change, a --keep-chain archive: link 0 (sys-000001) has NGINX_AFTER, link 1 (sys) NGINX_BEFORE.
  changeNginx(vm);
  const after = path.join(nas, 'web01-after');
  ok(['backup', '--progress', 'none', '--keep-chain', vm.vmx, after]);
  const db = path.join(root, 'catalog.db');
  const catalog = (...args: string[]): ReturnType<typeof diskchain> => diskchain(['catalog', '--db', db, ...args]);

  // The segment that holds the middle of /var/big.bin (debugfs says where its block 1024 lies): its last byte flipped.
  const bmap = execFileSync('debugfs', ['-R', 'bmap /var/big.bin 1024', path.join(root, 'work', 'ext-before.bin')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const manifest = parseManifest(fs.readFileSync(path.join(damaged, 'manifest.json'), 'utf8'), 'manifest.json');
  const segment = manifest.disks.find((d) => d.name === 'sys')!.links[0]!.segments[Math.floor((PART_START + Number(bmap.trim()) * 4096) / MiB)]!;
  const file = path.join(damaged, segment);
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
  fs.writeFileSync(file, bytes);

  const damagedId = (): number => (JSON.parse(catalog('search', '--json', 'web01-damaged').text) as { entries: Array<{ id: number; name: string }> }).entries.find((e) => e.name === 'web01-damaged')!.id;

  it('the index lists every file: the damage lies in file data, not in what the walk reads', () => {
    const r = catalog('scan', '--index', '--json', nas);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.text)).toMatchObject({ index: { indexed: 2, failed: 0 } });
    const page = JSON.parse(catalog('find', '--json', 'big.bin').text) as FilePage;
    expect(page.versions.filter((v) => v.entryName === 'web01-damaged').map((v) => [v.path, v.size, v.ref])).toEqual([['/var/big.bin', 8 * MiB, `${damagedId()}:sys:1:/var/big.bin`]]);
  });

  it('get of the file in the damaged segment fails naming the file and the segment; the others restore', () => {
    const id = damagedId();
    const piped = catalog('get', `${id}:/var/big.bin`, '-');
    expect(piped.status).toBe(1);
    expect(piped.stderr.trimEnd()).toMatch(new RegExp(`^diskchain: ${damaged}: /var/big\\.bin: segment ${segment} does not match the manifest hash \\(bytes \\d+–\\d+: .*\\): the archive is damaged there$`));
    const dest = path.join(root, 'big.bin');
    const one = catalog('get', `${id}:/var/big.bin`, dest);
    expect(one.status).toBe(1);
    expect(one.stderr).toContain(`/var/big.bin: segment ${segment} does not match the manifest hash`);
    expect(fs.existsSync(dest)).toBe(false);
    const conf = catalog('get', `${id}:/etc/nginx/nginx.conf`, '-');
    expect(conf.status, conf.stderr).toBe(0);
    expect(conf.stdout.toString()).toBe(NGINX_BEFORE);
  });

  it('a --keep-chain archive is indexed at every link: find shows both versions, the link named, and get --at restores either', () => {
    const page = JSON.parse(catalog('find', '--json', 'nginx.conf').text) as FilePage;
    const fromAfter = page.versions.filter((v) => v.entryName === 'web01-after');
    expect(fromAfter.map((v) => [v.disk, v.link, v.size, v.changed])).toEqual([
      ['sys-000001', 0, NGINX_AFTER.length, true],
      ['sys-000001', 1, NGINX_BEFORE.length, false],
    ]);
    const id = fromAfter[0]!.entryId;
    // Two disks at link 0 (sys and data), one at link 1.
    expect(fromAfter.map((v) => v.ref)).toEqual([`${id}:sys-000001:1:/etc/nginx/nginx.conf`, `${id}@1:/etc/nginx/nginx.conf`]);
    const text = catalog('find', 'nginx.conf').text;
    expect(text).toContain(`${id}@1:/etc/nginx/nginx.conf  (web01-after, link 1)`);
    const get = (...args: string[]): string => catalog('get', ...args, '-').stdout.toString();
    expect(get(`${id}:sys:1:/etc/nginx/nginx.conf`)).toBe(NGINX_AFTER);
    expect(get(`${id}:sys-000001:1:/etc/nginx/nginx.conf`)).toBe(NGINX_AFTER);
    expect(get('--at', '1', `${id}:sys:1:/etc/nginx/nginx.conf`)).toBe(NGINX_BEFORE);
    expect(get(`${id}@1:/etc/nginx/nginx.conf`)).toBe(NGINX_BEFORE);
    const bad = catalog('get', '--at', '5', `${id}:sys:1:/etc/nginx/nginx.conf`, '-');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trimEnd().split('\n')[0]).toMatch(new RegExp(`is not in the file index of #${id}@5:sys:1`));
  });
});
