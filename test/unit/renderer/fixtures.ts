/** Sample answers, shaped as main sends them (shared/types.ts, shared/ipc/contract.ts). */
import type { CatalogEntry, DiskRef, MapSummary } from '../../../shared/ipc/contract';
import type { DiskInfo, LayerInfo } from '../../../shared/types';

export const DISK_A = '11111111-1111-4111-8111-111111111111';
export const DISK_B = '22222222-2222-4222-8222-222222222222';
export const JOB_1 = '33333333-3333-4333-8333-333333333333';
export const TARGET_1 = '44444444-4444-4444-8444-444444444444';

export function ref(diskId: string, path: string): DiskRef {
  return { diskId, path, name: path.split('/').pop()!, openedAt: 1_700_000_000_000 };
}

export function layer(path: string, over: Partial<LayerInfo> = {}): LayerInfo {
  return {
    path,
    createType: 'vmfs',
    cid: null,
    parentCid: null,
    parent: null,
    capacityBytes: 64 * 1024 * 1024,
    extents: [],
    allocatedBytes: 1024 * 1024,
    header: {},
    descriptor: null,
    warnings: [],
    ...over,
  };
}

/** ESX 2: a.dsk ← a.dsk.REDO ← a.dsk.REDO.REDO (layers top first). */
export function esx2Info(): DiskInfo {
  const capacityBytes = 64 * 1024 * 1024;
  return {
    path: '/vm/a.dsk.REDO.REDO',
    createType: 'cowd',
    capacityBytes,
    geometry: { cylinders: 130, heads: 16, sectors: 63 },
    adapterType: 'buslogic',
    layers: [
      layer('/vm/a.dsk.REDO.REDO', { createType: 'cowd', parent: { name: 'a.dsk.REDO', source: 'cowd-header' }, header: { magic: 'COWD', version: 1 } }),
      layer('/vm/a.dsk.REDO', { createType: 'cowd', parent: { name: 'a.dsk', source: 'cowd-header' } }),
      layer('/vm/a.dsk', { createType: 'raw', allocatedBytes: capacityBytes, extents: [{ path: '/vm/a.dsk', type: 'FLAT', access: 'RW', sectors: capacityBytes / 512, offset: 0 }] }),
    ],
    problems: [],
    damage: null,
  };
}

/** child.vmdk (parentCID 0badc0de) ← base.vmdk (CID 12345678). */
export function cidMismatchInfo(): DiskInfo {
  return {
    path: '/vm/child.vmdk',
    createType: 'vmfsSparse',
    capacityBytes: 64 * 1024 * 1024,
    geometry: { cylinders: 8, heads: 255, sectors: 63 },
    adapterType: 'lsilogic',
    layers: [
      layer('/vm/child.vmdk', {
        createType: 'vmfsSparse',
        cid: 'aaaaaaaa',
        parentCid: '0badc0de',
        parent: { name: 'base.vmdk', source: 'parentFileNameHint' },
        descriptor: '# Disk DescriptorFile\nCID=aaaaaaaa\n<script>alert(1)</script>\n',
      }),
      layer('/vm/base.vmdk', { cid: '12345678', parentCid: 'ffffffff' }),
    ],
    problems: [{ severity: 'error', file: '/vm/child.vmdk', message: 'parentCID 0badc0de does not match CID 12345678 of base.vmdk' }],
    damage: null,
  };
}

export function entry(id: number, name: string, over: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    id,
    type: 'disk',
    name,
    path: `/archives/${name}`,
    kind: 'monolithicSparse',
    vm: null,
    capacityBytes: 1024 ** 3,
    sizeBytes: 1024 ** 2,
    mtime: 1_700_000_000_000,
    missing: false,
    ...over,
  };
}

export function mapSummary(start: number, length: number, buckets: number): MapSummary {
  return {
    capacityBytes: 64 * 1024 * 1024,
    start,
    length,
    buckets,
    layers: [
      { path: '/vm/a.dsk.REDO', name: 'a.dsk.REDO', createType: 'cowd' },
      { path: '/vm/a.dsk', name: 'a.dsk', createType: 'raw' },
    ],
    dominant: Array.from({ length: buckets }, (_, i) => (i % 3 === 0 ? 0 : i % 3 === 1 ? 1 : null)),
    dataFraction: Array.from({ length: buckets }, (_, i) => (i % 3 === 2 ? 0 : 0.5)),
    layerBytes: [1024 * 1024, 32 * 1024 * 1024],
    zeroBytes: 0,
  };
}
