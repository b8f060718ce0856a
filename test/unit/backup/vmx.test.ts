import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findLocks } from '../../../main/backup/locks.js';
import { cleanStem, diskStemOf, linkStem, NameBook } from '../../../main/backup/names.js';
import { parseVmx, rewriteVmx, vmxDisks, vmxNvram, vmxValue } from '../../../main/formats/vmx.js';
import { tmpDir } from '../../helpers/tmp.js';

const VMX = [
  '.encoding = "UTF-8"',
  '# a comment = "not an entry"',
  'displayName = "Web |22front|22 01"',
  'scsi0.present = "TRUE"',
  'scsi0:0.present = "TRUE"',
  'scsi0:0.fileName = "web01-000002.vmdk"',
  'SCSI0:1.FILENAME = "/vmfs/volumes/datastore1/web01/data.vmdk"',
  'ide0:0.fileName = "C:\\VMs\\web01\\boot.vmdk"',
  'ide1:0.present = "TRUE"',
  'ide1:0.deviceType = "cdrom-image"',
  'ide1:0.fileName = "debian.iso"',
  'sata0:2.fileName = "sata.vmdk"',
  'sata0:3.present = "FALSE"',
  'sata0:3.fileName = "gone.vmdk"',
  'nvme0.present = "FALSE"',
  'nvme0:0.fileName = "nvme.vmdk"',
  'nvme1:0.fileName = "fast.vmdk"',
  'nvram = "web01.nvram"',
];

describe('.vmx files', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'web01.vmx');

  it('lists the disks of scsi, ide, sata and nvme entries, leaving out CD-ROMs and devices not present', () => {
    const vmx = parseVmx(VMX.join('\n') + '\n', file);
    const disks = vmxDisks(vmx);
    expect(disks.map((d) => [d.device, d.fileName])).toEqual([
      ['scsi0:0', 'web01-000002.vmdk'],
      ['SCSI0:1', '/vmfs/volumes/datastore1/web01/data.vmdk'],
      ['ide0:0', 'C:\\VMs\\web01\\boot.vmdk'],
      ['sata0:2', 'sata.vmdk'],
      ['nvme1:0', 'fast.vmdk'],
    ]);
    // Paths from another machine fall back to the same name beside the .vmx.
    expect(disks.map((d) => d.path)).toEqual(['web01-000002.vmdk', 'data.vmdk', 'boot.vmdk', 'sata.vmdk', 'fast.vmdk'].map((n) => path.join(dir, n)));
  });

  it('decodes |XX escapes and matches keys case-insensitively', () => {
    const vmx = parseVmx(VMX.join('\n'), file);
    expect(vmxValue(vmx, 'DISPLAYNAME')).toBe('Web "front" 01');
    expect(vmxValue(vmx, 'scsi0:1.fileName')).toBe('/vmfs/volumes/datastore1/web01/data.vmdk');
  });

  it('rewrites disk entries and keeps every other line, the key spelling and CRLF line ends', () => {
    const text = VMX.join('\r\n') + '\r\n';
    const vmx = parseVmx(text, file);
    const out = rewriteVmx(vmx, new Map([['scsi0:1.fileName', 'data.vmdk'], ['scsi0:0.fileName', 'web01.vmdk'], ['uuid.action', 'keep']]));
    const lines = out.split('\r\n');
    expect(out.endsWith('\r\n')).toBe(true);
    expect(out.includes('\n') && !out.replace(/\r\n/g, '').includes('\n')).toBe(true);
    expect(lines).toContain('SCSI0:1.FILENAME = "data.vmdk"');
    expect(lines).toContain('scsi0:0.fileName = "web01.vmdk"');
    expect(lines).toContain('uuid.action = "keep"');
    expect(lines).toContain('# a comment = "not an entry"');
    expect(lines).toContain('displayName = "Web |22front|22 01"');
    expect(lines.length).toBe(VMX.length + 2);
  });

  it('finds the NVRAM file named by the .vmx, or NAME.nvram beside it', () => {
    fs.writeFileSync(path.join(dir, 'web01.nvram'), 'nvram');
    expect(vmxNvram(parseVmx(VMX.join('\n'), file))).toBe(path.join(dir, 'web01.nvram'));
    expect(vmxNvram(parseVmx('displayName = "x"\n', file))).toBe(path.join(dir, 'web01.nvram'));
    expect(vmxNvram(parseVmx('nvram = "other.nvram"\n', file))).toBeNull();
  });
});

describe('lock detection', () => {
  it('sees Workstation lock folders, lock files of our disks and ESX .lck- files, and nothing else', () => {
    const dir = tmpDir();
    const vm = path.join(dir, 'vm');
    const other = path.join(dir, 'other');
    fs.mkdirSync(vm);
    fs.mkdirSync(other);
    const vmx = path.join(vm, 'a.vmx');
    const disk = path.join(other, 'disk.vmdk');
    for (const f of [vmx, disk, path.join(other, 'unrelated.vmdk')]) fs.writeFileSync(f, '');
    expect(findLocks([vmx, disk], vm)).toEqual([]);

    fs.mkdirSync(path.join(other, 'unrelated.vmdk.lck'));
    expect(findLocks([vmx, disk], vm)).toEqual([]);
    fs.mkdirSync(path.join(other, 'disk.vmdk.lck'));
    expect(findLocks([vmx, disk], vm)).toEqual([path.join(other, 'disk.vmdk.lck')]);
    fs.writeFileSync(path.join(vm, 'a.vmem.lck'), '');
    fs.writeFileSync(path.join(other, '.lck-0a1b2c3d00000000'), '');
    expect(findLocks([vmx, disk], vm)).toEqual(
      [path.join(other, '.lck-0a1b2c3d00000000'), path.join(other, 'disk.vmdk.lck'), path.join(vm, 'a.vmem.lck')].sort(),
    );
  });
});

describe('archive names', () => {
  it('names links and disks the way their files are named', () => {
    expect(linkStem('/x/web01-000002.vmdk')).toBe('web01-000002');
    expect(linkStem('/x/web01.dsk.REDO')).toBe('web01-REDO');
    expect(linkStem('/x/web01.dsk.REDO.REDO')).toBe('web01-REDO-REDO');
    expect(diskStemOf('/x/web01-000002.vmdk')).toBe('web01');
    expect(diskStemOf('/x/web01.dsk.REDO')).toBe('web01');
    expect(cleanStem('a/b\u0001c')).toBe('a_b_c');
    expect(Buffer.byteLength(cleanStem('ü'.repeat(100)))).toBeLessThanOrEqual(80);
  });

  it('never gives two disks colliding files, even differing only in case', () => {
    const book = new NameBook(['web01.vmx']);
    const files = (s: string): string[] => [`${s}.vmdk`, `${s}-s001.vmdk`];
    expect(book.claim('web01', files)).toBe('web01');
    expect(book.claim('WEB01', files)).toBe('WEB01-2');
    expect(book.claimFile('web01.vmx')).toBe('web01-2.vmx');
  });
});
