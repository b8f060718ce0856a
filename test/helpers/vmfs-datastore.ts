/**
 * A datastore image with three VMs, and the same files as plain host files beside it ("the twin"),
 * so that a command run on a disk inside the image can be compared with the same command on the
 * host copy: web01 (a thin base and two vmfsSparse snapshots, the 3-link chain), db01 (a thick flat
 * disk through pointer blocks) and guest01 (an MBR disk with an ext4 volume holding files).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeVmfsFlatDescriptor } from '../fixtures/cowd-builder.js';
import { buildVmfs, snapshotChainFiles, type BuiltVmfs, type VmfsFileSpec } from '../fixtures/vmfs-builder.js';
import { patternBytes } from '../fixtures/pattern.js';
import { run, sfdisk } from './guest-images.js';

const MiB = 1024 * 1024;

export interface Datastore {
  built: BuiltVmfs;
  image: string;
  /** The twin: every file of the volume at the same path under this folder. */
  host: string;
  /** The 3-link chain's top, its bytes as the guest sees them. */
  chainTop: string;
  chainBytes: Buffer;
  files: VmfsFileSpec[];
  /** `IMAGE:/inner` and the twin's path for a path inside the volume. */
  inImage(inner: string): string;
  onHost(inner: string): string;
}

/** db01's thick disk: 5 MiB of pattern, through a single-indirect pointer block. */
function db01(stage: string): VmfsFileSpec[] {
  const flat = patternBytes(5 * MiB, 71);
  writeVmfsFlatDescriptor(path.join(stage, 'db01.vmdk'), { capacitySectors: flat.length / 512, flatFileName: 'db01-flat.vmdk', cid: 0x44444444 });
  return [
    { path: '/db01/db01.vmx', content: Buffer.from('.encoding = "UTF-8"\ndisplayName = "db01"\nscsi0:0.fileName = "db01.vmdk"\n') },
    { path: '/db01/db01.vmdk', content: fs.readFileSync(path.join(stage, 'db01.vmdk')) },
    { path: '/db01/db01-flat.vmdk', content: flat, layout: 'pointer' },
  ];
}

/** guest01: a 12 MiB disk, MBR, partition 1 at 1 MiB with ext4 made from a folder (mkfs.ext4 -d). */
function guest01(stage: string): VmfsFileSpec[] {
  const tree = path.join(stage, 'guest-tree');
  fs.mkdirSync(path.join(tree, 'etc'), { recursive: true });
  fs.mkdirSync(path.join(tree, 'data'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'etc', 'hostname'), 'guest01\n');
  fs.writeFileSync(path.join(tree, 'data', 'blob.bin'), patternBytes(300 * 1024, 72));
  const part = path.join(stage, 'guest-part.img');
  fs.writeFileSync(part, '');
  fs.truncateSync(part, 10 * MiB);
  run('mkfs.ext4', ['-q', '-F', '-L', 'guest01', '-U', '0b5e55ed-0000-4000-8000-000000000001', '-d', tree, part], undefined, { E2FSPROGS_FAKE_TIME: '1700000000' });
  const disk = path.join(stage, 'guest-disk.img');
  fs.writeFileSync(disk, '');
  fs.truncateSync(disk, 12 * MiB);
  sfdisk(disk, 'dos', [`start=2048,size=${(10 * MiB) / 512},type=83`]);
  const bytes = fs.readFileSync(disk);
  fs.readFileSync(part).copy(bytes, MiB);
  writeVmfsFlatDescriptor(path.join(stage, 'guest01.vmdk'), { capacitySectors: bytes.length / 512, flatFileName: 'guest01-flat.vmdk', cid: 0x55555555 });
  return [
    { path: '/guest01/guest01.vmx', content: Buffer.from('displayName = "guest01"\nscsi0:0.fileName = "guest01.vmdk"\n') },
    { path: '/guest01/guest01.vmdk', content: fs.readFileSync(path.join(stage, 'guest01.vmdk')) },
    { path: '/guest01/guest01-flat.vmdk', content: bytes, layout: 'direct' },
  ];
}

/** Writes a file spec's bytes at `file`, leaving all-zero MiB blocks as holes (a thin twin stays thin). */
function writeTwin(file: string, spec: VmfsFileSpec): void {
  const content = spec.content ?? Buffer.alloc(0);
  const size = Math.max(spec.size ?? 0, content.length);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, size);
    for (let at = 0; at < content.length; at += MiB) {
      const part = content.subarray(at, Math.min(content.length, at + MiB));
      if (part.some((b) => b !== 0)) fs.writeSync(fd, part, 0, part.length, at);
    }
  } finally {
    fs.closeSync(fd);
  }
}

export function buildDatastore(dir: string, name = 'lun', version: 5 | 6 = 5): Datastore {
  const stage = path.join(dir, `${name}-stage`);
  const vm = snapshotChainFiles(stage);
  const files = [...vm.files, ...db01(stage), ...guest01(stage)];
  const built = buildVmfs(dir, name, { version, label: `ds-${name}`, partition: 'gpt', files });
  const host = path.join(dir, `${name}-twin`);
  for (const f of files) if ((f.kind ?? 'file') === 'file') writeTwin(path.join(host, f.path), f);
  const image = built.images[0]!;
  return {
    built,
    image,
    host,
    chainTop: vm.top,
    chainBytes: vm.expected,
    files,
    inImage: (inner) => `${image}:${inner}`,
    onHost: (inner) => path.join(host, inner),
  };
}
