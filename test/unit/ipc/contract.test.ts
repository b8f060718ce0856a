import { describe, expect, it } from 'vitest';
import { CHANNELS, EVENTS, type ChannelName } from '../../../shared/ipc/channels.js';
import { contract, events } from '../../../shared/ipc/contract.js';

const ID = '0b6a4a8e-5a3c-4d7e-9f00-1a2b3c4d5e6f';
const LONG = 'x'.repeat(5000);

/** For every channel: one input it accepts, and inputs it must refuse beyond the generic ones. */
const cases: Record<ChannelName, { valid: unknown; bad: unknown[] }> = {
  'app:info': { valid: {}, bad: [] },
  'disks:open': { valid: {}, bad: [{ path: '/etc/passwd' }, { files: ['/etc/passwd'] }] },
  'disks:list': { valid: {}, bad: [] },
  'disks:close': { valid: { diskId: ID }, bad: [{}, { diskId: 'abc' }, { diskId: '/etc/passwd' }, { diskId: 7 }] },
  'disks:info': { valid: { diskId: ID, ignoreCid: true }, bad: [{}, { diskId: '/tmp/x.vmdk' }, { diskId: ID, ignoreCid: 'yes' }, { path: '/tmp/x.vmdk' }] },
  'disks:geometry': { valid: { diskId: ID }, bad: [{}, { diskId: '../../x' }, { diskId: ID, ignoreCid: 1 }] },
  'disks:check': { valid: { diskId: ID }, bad: [{}, { diskId: '' }, { diskId: ID, ignoreCid: true }] },
  'disks:layer': { valid: { diskId: ID, layer: 2 }, bad: [{ diskId: ID }, { diskId: ID, layer: -1 }, { diskId: ID, layer: 1.5 }, { diskId: ID, layer: 10_000 }] },
  'disks:map': {
    valid: { diskId: ID, start: 0, length: 1 << 30, buckets: 1024 },
    bad: [
      { diskId: ID },
      { diskId: ID, buckets: 0 },
      { diskId: ID, buckets: 1_000_000 },
      { diskId: ID, buckets: 10, start: -1 },
      { diskId: ID, buckets: 10, length: 0 },
      { diskId: ID, buckets: 10, start: 2 ** 60 },
      { diskId: ID, buckets: '10' },
    ],
  },
  'disks:orphan': { valid: { diskId: ID }, bad: [{}, { diskId: '/tmp/web01-flat.vmdk' }, { path: '/tmp/web01-flat.vmdk' }] },
  'disks:rebuildDescriptor': { valid: { diskId: ID }, bad: [{}, { diskId: ID, out: '/tmp/x.vmdk' }, { diskId: ID, adapter: 'ide' }] },
  // The renderer never names the parent: main asks for it in its own open dialog.
  'disks:locateParent': { valid: { diskId: ID, fixCid: true }, bad: [{}, { diskId: ID, parent: '/tmp/base.vmdk' }, { diskId: ID, fixCid: 'yes' }] },
  'recent:list': { valid: {}, bad: [] },
  'recent:open': { valid: { recentId: ID }, bad: [{}, { recentId: '/home/me/disk.vmdk' }, { path: '/home/me/disk.vmdk' }] },
  'recent:clear': { valid: {}, bad: [] },
  'targets:chooseFile': {
    valid: { mode: 'save', suggestedName: 'web01.vmdk', filter: 'vmdk', title: 'Convert to' },
    bad: [
      { suggestedName: '../../etc/passwd' },
      { suggestedName: '/etc/passwd' },
      { suggestedName: 'a\\b.vmdk' },
      { suggestedName: 'bad\u0001name' },
      { suggestedName: '..' },
      { suggestedName: '' },
      { mode: 'delete' },
      { filter: 'exe' },
      { title: LONG },
      { path: '/tmp/out.vmdk' },
    ],
  },
  'targets:chooseFolder': { valid: { title: 'Export to' }, bad: [{ title: LONG }, { path: '/tmp' }] },
  'jobs:preflight': {
    valid: { request: { kind: 'snapshot', diskId: ID } },
    bad: [{}, { request: { kind: 'snapshot', disk: '/tmp/x.vmdk' } }, { request: { kind: 'format', diskId: ID } }],
  },
  'jobs:start': {
    valid: { request: { kind: 'convert', diskId: ID, targetId: ID, to: 'vmfs', adapter: 'lsilogic', segmentBytes: 1 << 30, compressLevel: 6 } },
    bad: [
      { request: { kind: 'convert', diskId: ID, targetId: ID, to: 'qcow2' } },
      { request: { kind: 'convert', diskId: ID, dst: '/tmp/out.vmdk', to: 'vmfs' } },
      { request: { kind: 'convert', diskId: ID, targetId: ID, to: 'vmfs', compressLevel: 10 } },
      { request: { kind: 'convert', diskId: ID, targetId: ID, to: 'vmfs', segmentBytes: 3 * 2 ** 30 } },
      { request: { kind: 'convert', diskId: ID, targetId: ID, to: 'vmfs', adapter: 'nvme' } },
      { request: { kind: 'export', diskId: ID, targetId: '/tmp' } },
      { request: { kind: 'import', diskId: ID, targetId: ID, thin: 'yes' } },
      { request: { kind: 'commit', diskId: ID, force: 1 } },
      { request: { kind: 'extend', diskId: ID, sizeBytes: -1 } },
      { request: { kind: 'extend', diskId: ID, sizeBytes: 2 ** 60 } },
      { request: { kind: 'extend', diskId: ID, sizeBytes: '40G' } },
      { request: { kind: 'backup', source: { path: '/vm/vm.vmx' }, targetId: ID } },
      { request: { kind: 'restore', source: { catalogId: -1 }, targetId: ID } },
      { request: { kind: 'restore', source: { catalogId: 1 }, targetId: ID, to: 'raw' } },
      { request: { kind: 'recover', diskId: ID, dst: '/tmp/out.vmdk' } },
      { request: { kind: 'recover', diskId: ID, targetId: ID, to: 'qcow2' } },
      { request: { kind: 'recover', diskId: ID, targetId: ID, segmentBytes: 1 << 30 } },
      // extract: guest paths only; the host folder is a target the renderer got from a dialog.
      { request: { kind: 'extract', diskId: ID, targetId: ID, paths: [] } },
      { request: { kind: 'extract', diskId: ID, destDir: '/tmp', paths: ['/etc'] } },
      { request: { kind: 'extract', diskId: ID, targetId: '/tmp', paths: ['/etc'] } },
      { request: { kind: 'extract', diskId: ID, targetId: ID, paths: ['/etc'], at: -1 } },
      { request: { kind: 'extract', diskId: ID, targetId: ID, paths: ['/a\0b'] } },
      // restoreFile: a catalog find ref and a folder target, never a host path.
      { request: { kind: 'restoreFile', ref: '12:/etc/hosts', destDir: '/tmp' } },
      { request: { kind: 'restoreFile', ref: '12:/a\0b', targetId: ID } },
      { request: { kind: 'restoreFile', ref: 12, targetId: ID } },
      // indexFiles: catalog ids only; the catalog database is main's.
      { request: { kind: 'indexFiles', db: '/tmp/other.db' } },
      { request: { kind: 'indexFiles', ids: [] } },
      { request: { kind: 'indexFiles', ids: [-1] } },
      { request: { kind: 'indexFiles', ids: ['1'] } },
    ],
  },
  'jobs:cancel': { valid: { jobId: ID }, bad: [{}, { jobId: 1 }, { jobId: 'job-1' }] },
  'jobs:list': { valid: {}, bad: [] },
  'jobs:clear': { valid: {}, bad: [{ jobId: 'all' }] },
  'jobs:openOutput': { valid: { jobId: ID }, bad: [{}, { jobId: '/tmp/out.vmdk' }] },
  'catalog:scan': { valid: { folderTargetIds: [ID] }, bad: [{}, { folderTargetIds: [] }, { folderTargetIds: ['/mnt/nas'] }, { folders: ['/mnt/nas'] }] },
  'catalog:list': {
    valid: { type: 'archive', sort: { column: 'name', dir: 'asc' }, offset: 0, limit: 100 },
    bad: [{ limit: 0 }, { limit: 5000 }, { offset: -1 }, { type: 'file' }, { sort: { column: 'id; DROP TABLE entries', dir: 'asc' } }, { sort: { column: 'name', dir: 'up' } }],
  },
  'catalog:search': {
    valid: { query: 'web01', kind: 'vmfs', from: 0, to: Date.now(), minBytes: 0, maxBytes: 2 ** 41, limit: 50 },
    bad: [{}, { query: LONG }, { query: 'x', from: -5 }, { query: 'x', kind: LONG }, { query: 42 }],
  },
  'catalog:show': { valid: { id: 12 }, bad: [{}, { id: -1 }, { id: 1.5 }, { id: '12' }] },
  'catalog:verify': { valid: { id: 12 }, bad: [{}, { id: 'all' }] },
  'catalog:forget': { valid: { id: 12 }, bad: [{}, { id: null }] },
  'catalog:openDisk': { valid: { id: 12 }, bad: [{}, { id: '/mnt/nas/x.vmdk' }] },
  'catalog:findFiles': {
    valid: { pattern: 'nginx.conf', path: '/etc/*', vm: 'web', from: 0, to: Date.now(), minBytes: 0, maxBytes: 2 ** 41, entryId: 3, limit: 5000 },
    bad: [{}, { pattern: LONG }, { pattern: 'x', limit: 20_000 }, { pattern: 'x', from: -1 }, { pattern: 'x', entryId: '3' }, { pattern: 'x', sql: '1' }],
  },
  'catalog:openArchiveDisk': { valid: { id: 12, disk: 'sys' }, bad: [{ id: 12 }, { id: 12, disk: '' }, { id: -1, disk: 'sys' }, { id: 12, disk: 'x'.repeat(256) }] },
  'files:look': { valid: { path: '/home/me/vms' }, bad: [{}, { path: 'vms/web01.vmdk' }, { path: '../etc' }, { path: '' }, { path: '/a\u0000b' }, { path: LONG }] },
  'files:list': { valid: { path: '/' }, bad: [{}, { path: '.' }, { path: '~/vms' }, { path: 'C:relative' }, { path: '/tmp', hidden: true }] },
  'files:recentFolders': { valid: {}, bad: [{ path: '/tmp' }] },
  'files:openDisks': { valid: { paths: ['/vm/web01.vmdk'] }, bad: [{ paths: [] }, { paths: ['web01.vmdk'] }, { paths: '/vm/web01.vmdk' }] },
  'files:target': {
    valid: { path: '/out/db01.vmdk', type: 'file', mode: 'save' },
    bad: [{ path: 'out/db01.vmdk', type: 'file' }, { path: '/out', type: 'device' }, { path: '/out' }, { path: '/out', type: 'folder', mode: 'delete' }],
  },
  'guest:volumes': { valid: { diskId: ID, at: 1 }, bad: [{}, { diskId: ID, at: -1 }, { diskId: ID, at: 0.5 }, { path: '/tmp/x.vmdk' }] },
  'guest:list': { valid: { diskId: ID, volume: '1', dir: '/etc' }, bad: [{ diskId: ID }, { diskId: ID, dir: 7 }, { diskId: ID, dir: '/', volume: '' }, { diskId: ID, dir: 'x'.repeat(40_000) }] },
  'guest:preview': { valid: { diskId: ID, at: 0, file: '/etc/hosts' }, bad: [{ diskId: ID }, { diskId: ID, file: '/a\0b' }, { diskId: '/tmp/x.vmdk', file: '/etc/hosts' }] },
  'guest:diff': { valid: { diskId: ID, at: 0, dir: '/', content: true }, bad: [{ diskId: ID, dir: '/', content: 'yes' }, { diskId: ID, at: '1', dir: '/' }] },
  'volumes:tree': { valid: { diskId: ID }, bad: [{}, { diskId: ID, path: '/etc' }] },
  'volumes:openDisk': { valid: { diskId: ID, entry: 3 }, bad: [{ diskId: ID }, { diskId: ID, entry: -1 }, { diskId: ID, path: '/lun.img:/web01/web01.vmdk' }] },
};

describe('the IPC contract', () => {
  it('has exactly the channels and events of the zod-free allowlist the preload uses', () => {
    expect(Object.keys(contract).sort()).toEqual([...CHANNELS].sort());
    expect(Object.keys(events).sort()).toEqual([...EVENTS].sort());
    expect(Object.keys(cases).sort()).toEqual([...CHANNELS].sort());
  });

  for (const channel of CHANNELS) {
    describe(channel, () => {
      const schema = contract[channel].input;
      const { valid, bad } = cases[channel];

      it('accepts a well-formed input', () => {
        expect(schema.safeParse(valid).success).toBe(true);
      });

      it('rejects inputs that are not an object', () => {
        for (const input of [undefined, null, 'x', 42, [], true]) expect(schema.safeParse(input).success, JSON.stringify(input)).toBe(false);
      });

      it('rejects unknown keys (a path smuggled beside the fields)', () => {
        // The file browser's channels take a path by design (absolute only, host only): smuggle another key there.
        const key = 'path' in (valid as object) ? 'file' : 'path';
        expect(schema.safeParse({ ...(valid as object), [key]: '/etc/shadow' }).success).toBe(false);
      });

      it('rejects each bad input of this channel', () => {
        for (const input of bad) expect(schema.safeParse(input).success, JSON.stringify(input)).toBe(false);
      });
    });
  }

  it('starts an index-files job for every entry or for some', () => {
    for (const request of [{ kind: 'indexFiles' }, { kind: 'indexFiles', ids: [1, 2] }]) expect(contract['jobs:start'].input.safeParse({ request }).success).toBe(true);
  });

  it('fills page defaults for catalog listing', () => {
    expect(contract['catalog:list'].input.parse({})).toEqual({ offset: 0, limit: 200 });
  });
});
