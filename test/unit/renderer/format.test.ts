import { describe, expect, it } from 'vitest';
import { appText, baseName, cleanText, formatBytes, formatDuration, formatPercent, parseSize } from '../../../renderer/src/format';

describe('format', () => {
  it('writes sizes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(2 * 1024 ** 4)).toBe('2 TiB');
    expect(formatBytes(64 * 1024 * 1024)).toBe('64 MiB');
    // Three digits before the point keep their zeros (300 KiB, not 3 KiB).
    expect(formatBytes(300 * 1024)).toBe('300 KiB');
    expect(formatBytes(100 * 1024 ** 3)).toBe('100 GiB');
    expect(formatBytes(10 * 1024)).toBe('10 KiB');
  });
  it('switches units at 1000, so no size reads 1000.0 MiB', () => {
    expect(formatBytes(1000 * 1024 * 1024)).toBe('0.98 GiB');
    expect(formatBytes(1000 * 1024 * 1024, 1)).toBe('0.98 GiB');
    expect(formatBytes(999 * 1024 * 1024, 1)).toBe('999.0 MiB');
    expect(formatBytes(1010)).toBe('0.99 KiB');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(64 * 1024 * 1024, 1)).toBe('64.0 MiB');
  });
  it('writes durations and percentages people read at a glance', () => {
    expect(formatDuration(5)).toBe('5 s');
    expect(formatDuration(185)).toBe('3 min 05 s');
    expect(formatDuration(3720)).toBe('1 h 02 min');
    expect(formatDuration(null)).toBe('—');
    expect(formatPercent(50, 200)).toBe('25 %');
    expect(formatPercent(200, 200)).toBe('100 %');
  });
  it('parses sizes as the CLI does', () => {
    expect(parseSize('40G')).toBe(40 * 1024 ** 3);
    expect(parseSize('2047M')).toBe(2047 * 1024 ** 2);
    expect(parseSize('512')).toBe(512);
    expect(parseSize('1.5T')).toBe(1.5 * 1024 ** 4);
    expect(parseSize('lots')).toBeNull();
  });
  it('strips control characters from guest strings and caps their length', () => {
    expect(cleanText('a\u0000b\u001bc')).toBe('a\uFFFDb\uFFFDc');
    expect(cleanText('line\nnext')).toBe('line\nnext');
    expect(cleanText('x'.repeat(10), 4)).toBe('xxxx…');
    expect(baseName('C:\\vms\\web01.vmdk')).toBe('web01.vmdk');
    expect(baseName('/vmfs/volumes/ds/web01.vmdk')).toBe('web01.vmdk');
  });
});

describe('the app speaks its own language, not command-line flags', () => {
  it('says the engine\'s CLI hints in the words of the app\'s buttons and checkboxes', () => {
    expect(appText('parent base.vmdk was modified after this child was made (CID 1a2b3c4d, expected 9f8e7d6c); use --ignore-cid to read anyway')).toBe(
      'parent base.vmdk was modified after this child was made (CID 1a2b3c4d, expected 9f8e7d6c)',
    );
    expect(appText('looks in use: lock file web01.vmx.lck beside it. Shut the VM down first, or use --force to commit it anyway (the VM may be writing to these disks)')).toBe(
      'looks in use: lock file web01.vmx.lck beside it. Shut the VM down first, or tick “Go ahead anyway” to commit it anyway (the VM may be writing to these disks)',
    );
    expect(appText('already exists (use --force to replace it)')).toBe('already exists (tick “Replace existing files” to replace it)');
    for (const m of [
      'other children of base.vmdk (b.vmdk) now need --ignore-cid',
      'base.vmdk has other children (b.vmdk): commit them or delete them first, or use --force',
      'extent on device "/dev/sdb": devices named by a descriptor are read only with --allow-devices',
      'archived web01.vmdk although it looked in use (--force): 3 files',
      'parent "base.vmdk" not found (looked for /vm/base.vmdk); if it was moved or renamed, "diskchain reparent" points this disk at it',
      'CID differs. If base.vmdk is the disk this snapshot was taken from, unchanged since, use --fix-cid to set parentCID to 1a2b3c4d',
    ]) {
      expect(appText(m)).not.toMatch(/--[a-z]/);
    }
  });
});
