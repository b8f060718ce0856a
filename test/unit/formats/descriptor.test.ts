import { describe, expect, it } from 'vitest';
import { decodeDescriptor, looksLikeDescriptor, parseDescriptor, serializeDescriptor } from '../../../main/formats/descriptor.js';

const F = '/x/disk.vmdk';

function formatErrorOf(text: string): string {
  try {
    parseDescriptor(text, F);
  } catch (e) {
    expect((e as { code: string }).code).toBe('E_FORMAT');
    expect((e as { file: string }).file).toBe(F);
    return (e as Error).message;
  }
  throw new Error('expected a format error');
}

describe('descriptor parsing', () => {
  it('reads a VMware descriptor with CRLF, odd case, comments and unknown keys', () => {
    const text = [
      '# Disk DescriptorFile',
      'VERSION=1',
      'Encoding = "UTF-8"',
      'cid=0000abcd',
      'ParentCID=ffffffff',
      'isNativeSnapshot="no"',
      'createtype="VMFS"   # a comment',
      'someFutureKey="x"',
      '',
      'rw 41943040 vmfs "my disk-flat.vmdk"',
      '',
      'DDB',
      'ddb.adapterType = "lsilogic"',
      'ddb.Geometry.Cylinders = "2610"',
      'ddb.geometry.heads = 255',
      'ddb.uuid = "60 00 C2 9a"',
    ].join('\r\n');
    const d = parseDescriptor(text, F);
    expect(d.version).toBe(1);
    expect(d.cid).toBe(0xabcd);
    expect(d.parentCid).toBe(0xffffffff);
    expect(d.createType).toBe('vmfs');
    expect(d.extents).toEqual([{ access: 'RW', sizeSectors: 41943040, type: 'VMFS', fileName: 'my disk-flat.vmdk', offsetSectors: 0, extra: [] }]);
    expect(d.ddb.get('ddb.geometry.cylinders')).toBe('2610');
    expect(d.ddb.get('ddb.geometry.heads')).toBe('255');
    expect(d.otherHeader.get('somefuturekey')).toBe('x');
  });

  it('takes the last quote of an extent line, so names with quotes survive', () => {
    const d = parseDescriptor('version=1\ncreateType="monolithicFlat"\nRW 100 FLAT "a "b" c.bin" 7\n', F);
    expect(d.extents[0]).toMatchObject({ fileName: 'a "b" c.bin', offsetSectors: 7 });
  });

  it('infers a missing createType from the extents and warns', () => {
    const d = parseDescriptor('version=1\nRW 100 VMFSSPARSE "d-delta.vmdk"\n', F);
    expect(d.createType).toBe('vmfsSparse');
    expect(d.warnings.join()).toContain('no createType');
  });

  it('honours a legacy code page in encoding=', () => {
    const bytes = Buffer.from('version=1\nencoding="windows-1252"\ncreateType="monolithicFlat"\nRW 8 FLAT "caf\xe9.bin" 0\n', 'latin1');
    expect(parseDescriptor(decodeDescriptor(bytes), F).extents[0]!.fileName).toBe('café.bin');
  });

  it('stops an embedded descriptor at its first NUL', () => {
    const bytes = Buffer.concat([Buffer.from('version=1\ncreateType="monolithicSparse"\nRW 8 SPARSE "a.vmdk"\n'), Buffer.alloc(100)]);
    expect(decodeDescriptor(bytes).endsWith('\n')).toBe(true);
  });

  it('refuses text that is not a descriptor, naming the line', () => {
    expect(formatErrorOf('hello world\nthis is a note\n')).toMatch(/not a VMDK descriptor.*line 1/);
  });

  it('takes any CID leniently (issue 14): hex, decimal as Xen Orchestra writes it, or text with a warning', () => {
    const hex = parseDescriptor('version=1\nCID=fffffffe\nRW 8 VMFS "a"\n', F);
    expect(hex.cid).toBe(0xfffffffe);
    const decimal = parseDescriptor('version=1\nCID=417673188\nparentCID=417673188\nRW 8 VMFS "a"\n', F);
    expect(decimal.cid).toBe(decimal.parentCid);
    expect(decimal.cidText).toBe('417673188');
    expect(decimal.warnings.filter((w) => w.includes('CID'))).toEqual([]);
    const text = parseDescriptor('version=1\nCID=xyz\nRW 8 VMFS "a"\n', F);
    expect(text.warnings.join()).toContain('CID "xyz"');
  });

  it('skips a UTF-8 byte-order mark before version=', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('# Disk DescriptorFile\nversion=1\nRW 8 VMFS "a"\n')]);
    expect(looksLikeDescriptor(bytes)).toBe(true);
    expect(parseDescriptor(decodeDescriptor(bytes), F).extents).toHaveLength(1);
  });

  it('refuses a descriptor without extents, a bad version and an absurd capacity', () => {
    expect(formatErrorOf('version=1\ncreateType="vmfs"\n')).toContain('no extents');
    expect(formatErrorOf('version=9\ncreateType="vmfs"\nRW 8 VMFS "a"\n')).toContain('version 9');
    expect(formatErrorOf('version=1\nRW 999999999999999 VMFS "a"\n')).toContain('not plausible');
    expect(formatErrorOf('version=1\nRW 8 BOGUS "a"\n')).toContain('unknown extent type');
  });

  it('recognises descriptors by content, not by name', () => {
    expect(looksLikeDescriptor(Buffer.from('# Disk DescriptorFile\nversion=1\n'))).toBe(true);
    expect(looksLikeDescriptor(Buffer.from([0x4b, 0x44, 0x4d, 0x56, 0, 1, 2]))).toBe(false);
    expect(looksLikeDescriptor(Buffer.from('just some text\n'))).toBe(false);
  });

  it('serializes to a form that parses back to the same disk, without offsets on VMFS lines', () => {
    const d = parseDescriptor('version=1\nCID=1\nparentCID=ffffffff\ncreateType="vmfs"\nRW 2048 VMFS "a-flat.vmdk"\nddb.adapterType="lsilogic"\n', F);
    const text = serializeDescriptor(d);
    expect(text).toContain('RW 2048 VMFS "a-flat.vmdk"\n');
    expect(text).toContain('ddb.adapterType = "lsilogic"');
    const again = parseDescriptor(text, F);
    expect(again.extents).toEqual(d.extents);
    expect(again.cid).toBe(1);
  });
});
