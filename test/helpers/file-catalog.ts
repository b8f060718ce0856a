/**
 * A VM whose one disk holds an ext4 partition (mkfs.ext4 -d) and an NTFS partition (mkntfs +
 * ntfscp, which cannot make folders without FUSE: its files are in the root), backed up twice by the real `diskchain backup` with files changed in between: what the
 * file catalog's tests index, find and restore.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diskchain } from './cli.js';
import { blankDisk, ntfsImage, run, sfdisk, toVmdk, writeAt } from './guest-images.js';

/** Partition starts (sectors): ext4 first, NTFS second. */
const EXT_START = 2048;
const EXT_SECTORS = 32 * 2048;
const NTFS_START = EXT_START + EXT_SECTORS;
const NTFS_SECTORS = 16 * 2048;

export interface GuestFiles {
  /** Path in the volume → bytes. */
  ext: Record<string, Buffer>;
  ntfs: Record<string, Buffer>;
}

/** Version 1 and 2 of the guest: nginx.conf and the NTFS report change, notes.txt does not. */
export function guestFiles(version: 1 | 2): GuestFiles {
  return {
    ext: {
      '/etc/nginx/nginx.conf': Buffer.from(version === 1 ? 'worker_processes 1;\n' : 'worker_processes 4;\nevents { worker_connections 1024; }\n'),
      '/etc/hostname': Buffer.from('web\n'),
      '/home/ann/notes.txt': Buffer.from('the same in both backups\n'),
    },
    ntfs: {
      '/report.txt': Buffer.from(version === 1 ? 'draft\n' : 'final version, much longer than the draft\n'),
      '/boot.ini': Buffer.from('[boot loader]\n'),
    },
  };
}

/** Fixed times, so a version's mtime says which backup it is from. */
export const MTIME: Record<1 | 2, Date> = { 1: new Date(Date.UTC(2024, 0, 10, 8, 0, 0)), 2: new Date(Date.UTC(2024, 5, 20, 8, 0, 0)) };

/** Writes `web.vmdk` (an MBR disk: ext4 and NTFS) for this version of the guest into vmDir. */
export function writeGuestDisk(vmDir: string, work: string, version: 1 | 2): string {
  const files = guestFiles(version);
  const src = path.join(work, `ext-src-${version}`);
  for (const [p, bytes] of Object.entries(files.ext)) {
    const file = path.join(src, p);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes);
    // notes.txt keeps its time: it did not change.
    const when = p.endsWith('notes.txt') ? MTIME[1] : MTIME[version];
    fs.utimesSync(file, when, when);
  }
  const ext = blankDisk(path.join(work, `ext-${version}.bin`), EXT_SECTORS * 512);
  run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-L', 'linux', '-d', src, ext]);
  const ntfs = ntfsImage(work, `ntfs-${version}.bin`, NTFS_SECTORS * 512, NTFS_START, 'DATA');
  for (const [p, bytes] of Object.entries(files.ntfs)) {
    const local = path.join(work, `ntfs-file-${version}`);
    fs.writeFileSync(local, bytes);
    run('ntfscp', ['-q', '-f', ntfs, local, p]);
  }
  const raw = blankDisk(path.join(work, 'web.img'), (NTFS_START + NTFS_SECTORS + 2048) * 512);
  sfdisk(raw, 'dos', [`start=${EXT_START}, size=${EXT_SECTORS}, type=83`, `start=${NTFS_START}, size=${NTFS_SECTORS}, type=7`]);
  writeAt(raw, EXT_START * 512, ext);
  writeAt(raw, NTFS_START * 512, ntfs);
  const vmdk = toVmdk(raw);
  fs.mkdirSync(vmDir, { recursive: true });
  const dest = path.join(vmDir, 'web.vmdk');
  fs.renameSync(vmdk, dest);
  fs.writeFileSync(path.join(vmDir, 'web.vmx'), 'displayName = "Web Server"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "web.vmdk"\n');
  return dest;
}

/** Backs the VM up twice (version 1, then 2) into nas/web-1 and nas/web-2; returns the nas folder. */
export function twoBackups(root: string): { nas: string; vmDir: string } {
  const vmDir = path.join(root, 'vms', 'web');
  const nas = path.join(root, 'nas');
  const work = path.join(root, 'work');
  fs.mkdirSync(work, { recursive: true });
  for (const version of [1, 2] as const) {
    writeGuestDisk(vmDir, work, version);
    const r = diskchain(['backup', '--progress', 'none', path.join(vmDir, 'web.vmx'), path.join(nas, `web-${version}`)]);
    if (r.status !== 0) throw new Error(`diskchain backup failed: ${r.stderr}`);
  }
  return { nas, vmDir };
}
