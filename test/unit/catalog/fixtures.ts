/** Archives and disk folders for the catalog tests, built at test time with qemu-img. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Manifest, serializeManifest, type ArchiveFile } from '../../../main/formats/manifest.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';

export const MiB = 1024 * 1024;

export function sha256Of(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export interface ArchiveSpec {
  /** The VM's name; also the disk's stem. */
  vm: string;
  createdAt: string;
  capacityBytes?: number;
  /** createType of the source disk, as the manifest records it. */
  kind?: string;
}

/**
 * An archive folder as `diskchain backup` lays it out: the .vmx, a twoGbMaxExtentSparse descriptor
 * and its segment, and manifest.json listing each with its size and SHA-256 (checked against the
 * backup module's schema, so the test archive obeys the same contract as real ones).
 */
export function makeArchive(dir: string, spec: ArchiveSpec): string {
  fs.mkdirSync(dir, { recursive: true });
  const capacityBytes = spec.capacityBytes ?? 4 * MiB;
  const stem = spec.vm;
  const vmx = path.join(dir, `${stem}.vmx`);
  fs.writeFileSync(vmx, `displayName = "${spec.vm}"\nscsi0:0.fileName = "${stem}.vmdk"\n`);
  const descriptor = path.join(dir, `${stem}.vmdk`);
  qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse,adapter_type=lsilogic', descriptor, String(capacityBytes));
  qemuFill(descriptor, MiB, 64 * 1024, 0x42);
  const segment = `${stem}-s001.vmdk`;
  const file = (name: string, role: ArchiveFile['role']): ArchiveFile => {
    const full = path.join(dir, name);
    return { name, role, bytes: fs.statSync(full).size, sha256: sha256Of(full) };
  };
  const sourceDir = `/vmfs/volumes/datastore1/${spec.vm}`;
  const kind = spec.kind ?? 'vmfs';
  const content = 'ab'.repeat(32);
  const manifest = Manifest.parse({
    format: 'diskchain-archive',
    version: 1,
    createdAt: spec.createdAt,
    tool: { name: 'diskchain', version: '0.1.0' },
    host: 'test-host',
    mode: 'flatten',
    segmentBytes: 2 * 1024 * MiB,
    source: { kind: 'vmx', path: `${sourceDir}/${stem}.vmx`, vmName: spec.vm },
    vm: { vmx: `${stem}.vmx`, nvram: null, displayName: spec.vm },
    forcedPastLocks: false,
    disks: [
      {
        device: 'scsi0:0',
        vmxFileName: `${stem}.vmdk`,
        sourcePath: `${sourceDir}/${stem}.vmdk`,
        sourceLinks: [{ path: `${sourceDir}/${stem}.vmdk`, kind, extents: [`${sourceDir}/${stem}-flat.vmdk`] }],
        name: stem,
        kind,
        baseKind: kind,
        restoreKind: 'twoGbMaxExtentSparse',
        capacityBytes,
        geometry: { cylinders: 1, heads: 255, sectors: 63 },
        adapterType: 'lsilogic',
        contentSha256: content,
        links: [
          {
            sourcePath: `${sourceDir}/${stem}.vmdk`,
            kind,
            capacityBytes,
            cid: '12345678',
            parentCid: 'ffffffff',
            descriptor: `${stem}.vmdk`,
            segments: [segment],
            parent: null,
            contentSha256: content,
            storedBytes: 64 * 1024,
          },
        ],
      },
    ],
    files: [file(`${stem}.vmx`, 'vmx'), file(`${stem}.vmdk`, 'descriptor'), file(segment, 'segment')],
  });
  fs.writeFileSync(path.join(dir, 'manifest.json'), serializeManifest(manifest));
  return dir;
}

/** Sets a file's modification (and access) time, to date entries or to hide a change. */
export function setMtime(file: string, when: Date | number): void {
  fs.utimesSync(file, when instanceof Date ? when : new Date(when), when instanceof Date ? when : new Date(when));
}
