/**
 * The allowlist of channels and events, without zod: the sandboxed preload may require only
 * `electron` (electron.md §2), so it imports this file and nothing else. contract.ts is checked
 * against these lists at compile time (`satisfies Record<ChannelName, …>`), so the two cannot drift.
 */
export const CHANNELS = [
  'app:info',
  'disks:open',
  'disks:list',
  'disks:close',
  'disks:info',
  'disks:geometry',
  'disks:check',
  'disks:layer',
  'disks:map',
  'disks:orphan',
  'disks:rebuildDescriptor',
  'disks:locateParent',
  'recent:list',
  'recent:open',
  'recent:clear',
  'targets:chooseFile',
  'targets:chooseFolder',
  'jobs:preflight',
  'jobs:start',
  'jobs:cancel',
  'jobs:list',
  'jobs:clear',
  'jobs:openOutput',
  'catalog:scan',
  'catalog:list',
  'catalog:search',
  'catalog:show',
  'catalog:verify',
  'catalog:forget',
  'catalog:openDisk',
  // added 2026-12-07: the file catalog (issue 11)
  'catalog:findFiles',
  'catalog:openArchiveDisk',
  // added 2026-12-06: the browser host's file browser
  'files:look',
  'files:list',
  'files:recentFolders',
  'files:openDisks',
  'files:target',
  // added 2026-12-06: the Files tab (files inside a disk, issue 10)
  'guest:volumes',
  'guest:list',
  'guest:preview',
  'guest:diff',
  // added 2026-12-06: VMFS volume images (issue 12)
  'volumes:tree',
  'volumes:openDisk',
] as const;
export type ChannelName = (typeof CHANNELS)[number];

export const EVENTS = ['jobs:progress', 'jobs:done', 'disks:opened'] as const;
export type EventName = (typeof EVENTS)[number];

/**
 * Preload → main only, never in the renderer's allowlist: the paths of files dropped on the
 * window, read in the preload with webUtils.getPathForFile. Main opens them and emits disks:opened.
 */
export const DROP_CHANNEL = 'preload:dropped';

export function isChannel(name: unknown): name is ChannelName {
  return typeof name === 'string' && (CHANNELS as readonly string[]).includes(name);
}

export function isEvent(name: unknown): name is EventName {
  return typeof name === 'string' && (EVENTS as readonly string[]).includes(name);
}
