/**
 * Disks as other tools and copies leave them (issue 14): each case is built at test time and
 * must read the same bytes qemu-img reads from the intact original, or refuse at once.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain, type Chain } from '../../../main/disk/chain.js';
import { withChain } from '../../helpers/chain.js';
import { diskInfo } from '../../../main/disk/info.js';
import { writeDescriptor, writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { diskchain } from '../../helpers/cli.js';
import { builtEngine } from '../../helpers/dist.js';
import { qemuFill, qemuImg, qemuRaw, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

function readAll(chain: Chain): Buffer {
  const out = Buffer.alloc(chain.capacityBytes);
  chain.read(out, 0);
  return out;
}

function rawOf(image: string): Buffer {
  const raw = qemuRaw(image);
  const bytes = fs.readFileSync(raw);
  fs.rmSync(raw);
  return bytes;
}

function sub(root: string, name: string): string {
  const d = path.join(root, name);
  fs.mkdirSync(d);
  return d;
}

describe('disks from the wild', () => {
  const root = tmpDir();

  it('links a chain whose CIDs are decimal (Xen Orchestra) and shows them as written', () => {
    const dir = sub(root, 'decimal-cid');
    const base = path.join(dir, 'xo.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', base, '4M');
    qemuWrite(base, 0, patternBytes(2 * MiB, 1));
    const child = path.join(dir, 'xo-000001.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'xo.vmdk', '-F', 'vmdk', child);
    qemuWrite(child, MiB, patternBytes(64 * 1024, 2));
    const expected = rawOf(child);
    fs.writeFileSync(base, fs.readFileSync(base, 'latin1').replace(/^CID=\w+/m, 'CID=417673188'), 'latin1');
    // The child's descriptor is embedded: rewrite its reserved area in place, NUL padded.
    const bytes = fs.readFileSync(child);
    const area = bytes.subarray(512, 512 + 20 * 512);
    const text = area.toString('latin1').replace(/\0+$/, '').replace(/^parentCID=\w+/m, 'parentCID=417673188');
    area.fill(0);
    area.write(text, 'latin1');
    fs.writeFileSync(child, bytes);
    withChain(child, (chain) => {
      expect(readAll(chain).equals(expected)).toBe(true);
      expect(diskInfo(chain).layers[1]!.cid).toBe('417673188');
      expect(diskInfo(chain).layers[0]!.parentCid).toBe('417673188');
    });
  });

  it('reads a monolithicSparse whose header says GD_AT_END and whose real header is in a footer', () => {
    const dir = sub(root, 'gd-at-end');
    const disk = path.join(dir, 'tool.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', disk, '8M');
    qemuFill(disk, 3 * MiB, MiB, 0x7e);
    const expected = rawOf(disk);
    const bytes = fs.readFileSync(disk);
    const header = Buffer.from(bytes.subarray(0, 512));
    const marker = Buffer.alloc(512);
    marker.writeBigUInt64LE(1n, 0);
    marker.writeUInt32LE(3, 12); // footer marker
    const eos = Buffer.alloc(512); // end-of-stream marker: all zero
    const front = Buffer.from(bytes);
    front.writeBigUInt64LE(0xffffffffffffffffn, 56);
    fs.writeFileSync(disk, Buffer.concat([front, marker, header, eos]));
    withChain(disk, (chain) => expect(readAll(chain).equals(expected)).toBe(true));
  });

  it('finds an extent whose name has a backslash that is really part of the file name', () => {
    const dir = sub(root, 'backslash');
    const content = patternBytes(2 * MiB, 3);
    fs.writeFileSync(path.join(dir, 'w\\lit-flat.vmdk'), content);
    const disk = writeDescriptor(path.join(dir, 'w.vmdk'), { createType: 'vmfs', extents: [`RW ${(2 * MiB) / 512} VMFS "w\\lit-flat.vmdk"`] });
    withChain(disk, (chain) => expect(readAll(chain).equals(content)).toBe(true));
    fs.rmSync(path.join(dir, 'w\\lit-flat.vmdk'));
    expect(() => openChain(disk)).toThrow(/"w\\lit-flat\.vmdk".*missing \(looked for w\\lit-flat\.vmdk, w\/lit-flat\.vmdk\)/);
  });

  it('follows a parent hint with a backslash that is really part of the file name before reading it as a separator', () => {
    const dir = sub(root, 'backslash-parent');
    const literal = path.join(dir, 'sub\\base.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', literal, '4M');
    qemuFill(literal, 0, MiB, 0x61);
    // A decoy where the separator reading points: a different disk.
    fs.mkdirSync(path.join(dir, 'sub'));
    qemuImg('create', '-q', '-f', 'vmdk', path.join(dir, 'sub', 'base.vmdk'), '4M');
    const child = path.join(dir, 'child.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'sub\\base.vmdk', '-F', 'vmdk', child);
    qemuFill(child, 2 * MiB, MiB, 0x62);
    withChain(child, (chain) => {
      expect(chain.links[1]!.path).toBe(literal);
      expect(readAll(chain).equals(rawOf(child))).toBe(true);
    });
  });

  it('reads a descriptor that starts with a UTF-8 byte-order mark', () => {
    const dir = sub(root, 'bom');
    const disk = writeVmfsDisk(dir, 'bom', MiB, patternBytes(MiB, 4));
    fs.writeFileSync(disk, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), fs.readFileSync(disk)]));
    withChain(disk, (chain) => expect(readAll(chain).equals(fs.readFileSync(path.join(dir, 'bom-flat.vmdk')))).toBe(true));
  });

  it('decodes extent names by the declared code page (windows-1252)', () => {
    const dir = sub(root, 'cp1252');
    const content = patternBytes(MiB, 5);
    fs.writeFileSync(path.join(dir, 'café-flat.vmdk'), content);
    const text = `# Disk DescriptorFile\nversion=1\nencoding="windows-1252"\nCID=12345678\nparentCID=ffffffff\ncreateType="vmfs"\nRW ${MiB / 512} VMFS "café-flat.vmdk"\n`;
    fs.writeFileSync(path.join(dir, 'cafe.vmdk'), Buffer.from(text, 'latin1'));
    withChain(path.join(dir, 'cafe.vmdk'), (chain) => expect(readAll(chain).equals(content)).toBe(true));
  });

  it('finds an extent whose name on disk is in the raw bytes of the code page (windows-1252, GBK), as an unzip on Linux leaves it', () => {
    const dir = sub(root, 'raw-names');
    const cases = [
      { encoding: 'windows-1252', name: Buffer.from('caf\xe9-flat.vmdk', 'latin1') },
      // 测试 in GBK
      { encoding: 'GBK', name: Buffer.concat([Buffer.from([0xb2, 0xe2, 0xca, 0xd4]), Buffer.from('-flat.vmdk')]) },
    ];
    cases.forEach(({ encoding, name }, i) => {
      const content = patternBytes(MiB, 10 + i);
      fs.writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), name]), content);
      const head = `# Disk DescriptorFile\nversion=1\nencoding="${encoding}"\nCID=12345678\nparentCID=ffffffff\ncreateType="vmfs"\nRW ${MiB / 512} VMFS "`;
      const disk = path.join(dir, `raw${i}.vmdk`);
      fs.writeFileSync(disk, Buffer.concat([Buffer.from(head), name, Buffer.from('"\n')]));
      withChain(disk, (chain) => {
        expect(readAll(chain).equals(content)).toBe(true);
        expect(chain.top.extents[0]!.path).toMatch(/\\x[0-9a-f]{2}.*-flat\.vmdk$/);
      });
      // qemu opens the name by its bytes as well: the same content.
      expect(rawOf(disk).equals(content)).toBe(true);
    });
    const missing = path.join(dir, 'missing.vmdk');
    fs.writeFileSync(missing, Buffer.from(`# Disk DescriptorFile\nversion=1\nencoding="windows-1252"\nCID=1\nparentCID=ffffffff\ncreateType="vmfs"\nRW 2048 VMFS "gon\xe9-flat.vmdk"\n`, 'latin1'));
    expect(() => openChain(missing)).toThrow('extent file "goné-flat.vmdk" named by the descriptor is missing (looked for goné-flat.vmdk, gon\\xe9-flat.vmdk)');
  });

  it('finds a parent whose hint is in raw code-page bytes, as the file is named on disk', () => {
    const dir = sub(root, 'raw-parent');
    const utf8Name = Buffer.from('ba\u00e9.vmdk'); // "baé.vmdk": 62 61 c3 a9 …
    const rawName = Buffer.from([0x62, 0x61, 0xe9, 0xe9, ...Buffer.from('.vmdk')]); // the same length, not UTF-8
    const parentUtf8 = path.join(dir, utf8Name.toString());
    qemuImg('create', '-q', '-f', 'vmdk', parentUtf8, '4M');
    qemuFill(parentUtf8, 0, MiB, 0x71);
    const child = path.join(dir, 'child.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', utf8Name.toString(), '-F', 'vmdk', child);
    qemuFill(child, 2 * MiB, MiB, 0x72);
    fs.renameSync(parentUtf8, Buffer.concat([Buffer.from(`${dir}/`), rawName]));
    const bytes = fs.readFileSync(child);
    const at = bytes.indexOf(Buffer.from(`parentFileNameHint="${utf8Name.toString()}"`));
    expect(at).toBeGreaterThan(0);
    rawName.copy(bytes, at + 'parentFileNameHint="'.length);
    fs.writeFileSync(child, bytes);
    withChain(child, (chain) => {
      expect(chain.links[1]!.path).toBe(path.join(dir, 'ba\\xe9\\xe9.vmdk'));
      expect(readAll(chain).equals(rawOf(child))).toBe(true);
    });
  });

  it('refuses an extent that is a named pipe at once instead of waiting for a writer', () => {
    const dir = sub(root, 'fifo');
    execFileSync('mkfifo', [path.join(dir, 'pipe-flat.vmdk')]);
    const disk = writeDescriptor(path.join(dir, 'pipe.vmdk'), { createType: 'vmfs', extents: [`RW 2048 VMFS "pipe-flat.vmdk"`] });
    expect(() => openChain(disk)).toThrow(/named pipe \(FIFO\), not a disk file/);
  });

  it('keeps device extents as written and reads them only with allowDevices', () => {
    const dir = sub(root, 'device');
    const disk = writeDescriptor(path.join(dir, 'dev.vmdk'), {
      createType: 'vmfs',
      extents: ['RW 2048 VMFS "/dev/zero"', 'RW 2048 FLAT "\\\\.\\PhysicalDrive1"'],
    });
    withChain(disk, (chain) => {
      const extents = chain.top.extents;
      expect(extents.map((e) => e.path)).toEqual(['/dev/zero', '\\\\.\\PhysicalDrive1']);
      expect(extents.map((e) => e.device)).toEqual([{ readable: false }, { readable: false }]);
      expect(() => chain.read(Buffer.alloc(512), 0)).toThrow(/--allow-devices/);
    });
    const allowed = openChain(disk, { allowDevices: true });
    try {
      expect(allowed.top.extents[0]!.device).toEqual({ readable: true });
    } finally {
      allowed.close();
    }
  });

  it('writers (convert, export, import, backup, recover) read a device extent only with --allow-devices, refusing with the same line', () => {
    builtEngine('cli/index.js');
    const dir = sub(root, 'device-writers');
    const disk = writeDescriptor(path.join(dir, 'dev.vmdk'), { createType: 'vmfs', extents: ['RW 2048 VMFS "/dev/zero"'] });
    const runs: Array<[string, string[]]> = [
      ['convert', ['--to', 'raw', disk, path.join(dir, 'out.img')]],
      ['export', [disk, path.join(dir, 'exported')]],
      ['import', [disk, path.join(dir, 'imported.vmdk')]],
      ['backup', [disk, path.join(dir, 'archive')]],
      ['recover', [disk, path.join(dir, 'recovered.vmdk')]],
    ];
    for (const [command, args] of runs) {
      const refused = diskchain([command, ...args]);
      expect(refused.status, command).toBe(1);
      expect(refused.stderr.trim(), command).toBe('diskchain: /dev/zero: extent on device "/dev/zero": devices named by a descriptor are read only with --allow-devices');
      const allowed = diskchain([command, '--allow-devices', ...args]);
      expect(allowed.stderr, command).not.toMatch(/diskchain:/);
      expect(allowed.status, command).toBe(0);
    }
    expect(fs.readFileSync(path.join(dir, 'out.img')).equals(Buffer.alloc(1024 * 1024))).toBe(true);
  });

  it('check exits 0 on a qemu-made IDE disk over 8 GiB: a geometry warning is not a failure', () => {
    builtEngine('cli/index.js');
    const dir = sub(root, 'ide');
    const disk = path.join(dir, 'ide.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'adapter_type=ide', disk, '10G');
    const r = diskchain(['check', '--json', disk]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
