/**
 * The desktop app's services, free of Electron: Electron main and the browser host build the
 * same object and register its handlers through main/ipc/register.ts.
 */
import * as os from 'node:os';
import { dirname } from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import type { AppInfo } from '../../shared/ipc/contract.js';
import type { Handlers } from '../../shared/ipc/contract.js';
import { startJob } from '../jobs/engine.js';
import { openCatalogService, type CatalogService } from './catalog.js';
import type { Dialogs } from './dialogs.js';
import { DiskService } from './disks.js';
import { absolute, FileBrowser } from './files.js';
import type { Emit } from './events.js';
import { JobService, type StartJob } from './jobs.js';
import { QueryClient } from './query-client.js';
import { TargetService } from './targets.js';

export interface ServiceOptions {
  mode: AppInfo['mode'];
  /** The app's version (Electron: app.getVersion(); the CLI: package.json). */
  version: string;
  dialogs: Dialogs;
  emit: Emit;
  /** Recent files and other small state. */
  stateDir: string;
  /** The catalog database; opened on first use. */
  catalogDb: string;
  /** The job engine (tests may pass a fake). */
  startJob?: StartJob;
}

export interface Services {
  handlers: Handlers;
  disks: DiskService;
  targets: TargetService;
  jobs: JobService;
  /** Cancels running jobs, waits for them, closes the catalog. */
  dispose(): Promise<void>;
}

export function createServices(options: ServiceOptions): Services {
  const { dialogs, emit } = options;
  // Every engine call of these services runs in this one worker thread, never on the caller's.
  const queries = new QueryClient();
  const disks = new DiskService(options.stateDir, emit, queries);
  const targets = new TargetService(dialogs);
  const lookup = {
    archivePath: async (id: number) => (await catalog()).archivePath(id),
    locateFile: async (ref: string) => (await catalog()).locateFile(ref),
    dbPath: () => options.catalogDb,
  };
  const jobs = new JobService(disks, targets, emit, options.startJob ?? startJob, lookup, queries);
  let catalogService: Promise<CatalogService> | null = null;
  const catalog = (): Promise<CatalogService> => (catalogService ??= openCatalogService(options.catalogDb, queries).catch((e: unknown) => {
    catalogService = null;
    throw e;
  }));
  // The in-app file browser takes paths from the page: only the browser host (loopback, token) offers it.
  const files = new FileBrowser(options.stateDir);
  const browsing = (): FileBrowser => {
    if (options.mode !== 'host') throw new DiskchainError('E_UNSUPPORTED', 'the desktop app chooses files in its own dialogs');
    return files;
  };
  const info: AppInfo = {
    mode: options.mode,
    version: options.version,
    platform: `${os.platform()}-${os.arch()}`,
    dialogs: dialogs.kind,
    dropOpens: options.mode === 'electron',
  };

  const handlers: Handlers = {
    'app:info': () => info,
    'disks:open': async () => disks.open(await dialogs.openFiles({ title: 'Open disks', filter: 'disk', multiple: true }), 'dialog'),
    'disks:list': () => disks.list(),
    'disks:close': ({ diskId }) => (disks.close(diskId), null),
    'disks:info': ({ diskId, ignoreCid }) => disks.info(diskId, ignoreCid),
    'disks:geometry': ({ diskId, ignoreCid }) => disks.geometry(diskId, ignoreCid),
    'disks:check': ({ diskId }) => disks.check(diskId),
    'disks:layer': ({ diskId, layer, ignoreCid }) => disks.layer(diskId, layer, ignoreCid),
    'disks:map': ({ diskId, start, length, buckets, ignoreCid }) => disks.map(diskId, { start, length, buckets }, ignoreCid),
    'disks:orphan': ({ diskId }) => disks.orphan(diskId),
    'disks:rebuildDescriptor': ({ diskId }) => disks.rebuildDescriptor(diskId),
    'disks:locateParent': async ({ diskId, fixCid }) =>
      disks.reparent(diskId, await dialogs.openFiles({ title: 'Locate the parent disk', filter: 'disk', multiple: false }), fixCid === true),
    'recent:list': () => disks.recent(),
    'recent:open': ({ recentId }) => disks.openRecent(recentId),
    'recent:clear': async () => (await disks.clearRecent(), null),
    'targets:chooseFile': (input) => targets.chooseFile(input),
    'targets:chooseFolder': (input) => targets.chooseFolder(input),
    'jobs:preflight': ({ request }) => jobs.preflight(request),
    'jobs:start': ({ request }) => jobs.start(request),
    'jobs:cancel': ({ jobId }) => (jobs.cancel(jobId), null),
    'jobs:list': () => jobs.list(),
    'jobs:clear': ({ jobId }) => (jobs.clear(jobId), null),
    'jobs:openOutput': async ({ jobId }) => (await disks.open([jobs.outputOf(jobId)], 'job'))[0]!,
    'catalog:scan': async ({ folderTargetIds }) => (await catalog()).scan(folderTargetIds.map((id) => targets.get(id, 'folder').path)),
    'catalog:list': async (query) => (await catalog()).list(query),
    'catalog:search': async (query) => (await catalog()).search(query),
    'catalog:show': async ({ id }) => (await catalog()).show(id),
    'catalog:verify': async ({ id }) => (await catalog()).verify(id),
    'catalog:forget': async ({ id }) => ((await catalog()).forget(id), null),
    'catalog:openDisk': async ({ id }) => (await disks.open([(await catalog()).diskPath(id)], 'catalog'))[0]!,
    'catalog:findFiles': async (query) => (await catalog()).findFiles(query),
    'catalog:openArchiveDisk': async ({ id, disk }) => disks.openArchived((await catalog()).archivePath(id), disk),
    'files:look': ({ path }) => browsing().look(path),
    'files:list': ({ path }) => browsing().list(path),
    'files:recentFolders': () => browsing().recentFolders(),
    'files:openDisks': async ({ paths }) => {
      const browser = browsing();
      const refs = await disks.open(paths.map(absolute), 'dialog');
      if (refs.length > 0) await browser.remember(dirname(refs[refs.length - 1]!.path));
      return refs;
    },
    'guest:volumes': ({ diskId, at, ignoreCid }) => queries.ask('guestVolumes', { ...disks.guestTarget(diskId), at, ignoreCid }),
    'guest:list': ({ diskId, at, volume, dir, ignoreCid }) => queries.ask('guestList', { ...disks.guestTarget(diskId), at, volume, dir, ignoreCid }),
    'guest:preview': ({ diskId, at, volume, file, ignoreCid }) => queries.ask('guestPreview', { ...disks.guestTarget(diskId), at, volume, file, ignoreCid }),
    'guest:diff': ({ diskId, at, volume, dir, content, ignoreCid }) => queries.ask('guestDiff', { ...disks.guestTarget(diskId), at, volume, dir, content, ignoreCid }),
    'volumes:tree': ({ diskId }) => disks.volumeTree(diskId),
    'volumes:openDisk': ({ diskId, entry }) => disks.openInVolume(diskId, entry),
    'files:target': async ({ path, type, mode }) => {
      const browser = browsing();
      const target = await targets.fromPath(absolute(path), type, mode);
      await browser.remember(type === 'folder' ? target.path : dirname(target.path));
      return target;
    },
  };

  return {
    handlers,
    disks,
    targets,
    jobs,
    async dispose() {
      for (const job of jobs.list()) if (job.status === 'running') jobs.cancel(job.jobId);
      await jobs.settle();
      (await catalogService?.catch(() => null))?.close();
      await queries.close();
    },
  };
}
