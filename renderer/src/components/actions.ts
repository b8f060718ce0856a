/**
 * The action dialogs' forms as data: what each action asks for (the CLI's options), and how a
 * filled-in form becomes a JobRequest of the contract, or the reason it cannot yet.
 */
import type { JobKind, JobRequest, Preflight, Target } from '../../../shared/ipc/contract';
import type { Adapter, DiskKind } from '../../../shared/jobs';
import { parseSize } from '../format';

export const RESTORE_KINDS = ['vmfs', 'twoGbMaxExtentSparse', 'monolithicSparse'] as const;
export type RestoreKind = (typeof RESTORE_KINDS)[number];

export interface ActionForm {
  /** Output: a file (convert, import) or a folder (export, backup, restore). */
  target: Target | null;
  to: DiskKind;
  /** recover: '' for the engine's default (monolithicSparse, split when one file cannot hold the disk). */
  recoverTo: '' | DiskKind;
  restoreTo: '' | RestoreKind;
  adapter: '' | Adapter;
  /** Text as typed, '' for the default (2047M). */
  segmentSize: string;
  compressLevel: string;
  thin: boolean;
  force: boolean;
  ignoreCid: boolean;
  keepChain: boolean;
  /** extend: the new capacity as typed, e.g. "40G". */
  size: string;
  backupSource: 'disk' | 'vm';
  vmx: Target | null;
  /** restore from a folder when there is no catalog entry. */
  archiveFolder: Target | null;
}

export function emptyForm(ignoreCid = false): ActionForm {
  return {
    target: null,
    to: 'monolithicSparse',
    recoverTo: '',
    restoreTo: '',
    adapter: '',
    segmentSize: '',
    compressLevel: '',
    thin: false,
    force: false,
    ignoreCid,
    keepChain: false,
    size: '',
    backupSource: 'disk',
    vmx: null,
    archiveFolder: null,
  };
}

export interface ActionText {
  verb: string;
  /** What it does, in a sentence, and its CLI twin. */
  description: string;
  /** 'file' / 'folder' output, or none (commit, snapshot, extend change the disk in place). */
  output: 'file' | 'folder' | null;
}

/** The jobs started from an action dialog (extract starts from the Files tab, restoreFile and indexFiles from the catalog's Files search). */
export type ActionKind = Exclude<JobKind, 'extract' | 'restoreFile' | 'indexFiles'>;

export const ACTIONS: Record<ActionKind, ActionText> = {
  convert: {
    verb: 'Convert',
    description: 'Writes the whole chain, read through, as a new disk of another kind (diskchain convert).',
    output: 'file',
  },
  export: {
    verb: 'Export',
    description:
      'ESX → Workstation: writes NAME.vmdk and its 2 GB sparse segments into a folder, leaving out zero grains (diskchain export, like vmkfstools -e).',
    output: 'folder',
  },
  import: {
    verb: 'Import',
    description: 'Workstation → ESX: writes NAME.vmdk and NAME-flat.vmdk in the vmfs layout (diskchain import, like vmkfstools -i).',
    output: 'file',
  },
  commit: {
    verb: 'Commit',
    description: 'Folds this link into its parent and removes it (diskchain commit, like vmkfstools -m). The parent is changed in place.',
    output: null,
  },
  snapshot: {
    verb: 'Snapshot',
    description: 'Adds a child to this disk: NAME.REDO for an ESX 2 disk, NAME-000001.vmdk otherwise; later writes go to the child (diskchain snapshot).',
    output: null,
  },
  extend: {
    verb: 'Extend',
    description: 'Grows this disk to a new capacity (diskchain extend, like vmkfstools -X). It never shrinks, and a disk with snapshots cannot grow.',
    output: null,
  },
  backup: {
    verb: 'Back up',
    description: 'Archives this disk (its chain read through) or a whole VM into a folder: 2 GB sparse segments and a manifest with the SHA-256 of every file (diskchain backup).',
    output: 'folder',
  },
  restore: {
    verb: 'Restore',
    description: 'Checks every file of an archive against its manifest, then writes its disks (and the .vmx) into a folder (diskchain restore).',
    output: 'folder',
  },
  recover: {
    verb: 'Recover',
    description:
      'Copies everything this damaged disk can still read into a new disk; what is lost reads as zeros there. The damaged disk is only read (diskchain recover).',
    output: 'file',
  },
};

export const SPLIT_KINDS: ReadonlySet<DiskKind> = new Set(['twoGbMaxExtentSparse', 'twoGbMaxExtentFlat']);

export { diskStem } from '../../../shared/disk-names';

export type Built = { ok: true; request: JobRequest } | { ok: false; field: keyof ActionForm | null; message: string };

const MiB = 1024 * 1024;
const MAX_SEGMENT = 2 * 1024 * MiB;

function segment(form: ActionForm): { segmentBytes?: number } | string {
  if (form.segmentSize.trim() === '') return {};
  const n = parseSize(form.segmentSize);
  if (n === null || n < MiB || n > MAX_SEGMENT) return 'Segment size: a size from 1M to 2G, e.g. 2047M.';
  return { segmentBytes: n };
}

export interface ActionSubject {
  kind: ActionKind;
  diskId?: string;
  catalogId?: number;
  /** extend: the disk's capacity now. */
  capacityBytes?: number;
}

/** The JobRequest a filled-in form makes, or the first thing still missing or wrong. */
export function buildRequest(subject: ActionSubject, form: ActionForm): Built {
  const { kind, diskId } = subject;
  const needDisk = (): Built => ({ ok: false, field: null, message: 'Open a disk first.' });
  const flags = { ...(form.force ? { force: true } : {}), ...(form.ignoreCid ? { ignoreCid: true } : {}) };
  const adapter = form.adapter === '' ? {} : { adapter: form.adapter };
  switch (kind) {
    case 'convert': {
      if (!diskId) return needDisk();
      if (!form.target) return { ok: false, field: 'target', message: 'Choose where to write the new disk.' };
      const seg = SPLIT_KINDS.has(form.to) ? segment(form) : {};
      if (typeof seg === 'string') return { ok: false, field: 'segmentSize', message: seg };
      let level = {};
      if (form.to === 'streamOptimized' && form.compressLevel !== '') {
        const n = Number(form.compressLevel);
        if (!Number.isInteger(n) || n < 1 || n > 9) return { ok: false, field: 'compressLevel', message: 'Compression level: 1 (fastest) to 9 (smallest).' };
        level = { compressLevel: n };
      }
      return { ok: true, request: { kind, diskId, targetId: form.target.targetId, to: form.to, ...adapter, ...seg, ...level, ...flags } };
    }
    case 'export': {
      if (!diskId) return needDisk();
      if (!form.target) return { ok: false, field: 'target', message: 'Choose the folder to export into.' };
      const seg = segment(form);
      if (typeof seg === 'string') return { ok: false, field: 'segmentSize', message: seg };
      return { ok: true, request: { kind, diskId, targetId: form.target.targetId, ...seg, ...flags } };
    }
    case 'import': {
      if (!diskId) return needDisk();
      if (!form.target) return { ok: false, field: 'target', message: 'Choose where to write the ESX disk.' };
      return { ok: true, request: { kind, diskId, targetId: form.target.targetId, ...(form.thin ? { thin: true } : {}), ...adapter, ...flags } };
    }
    case 'commit':
      if (!diskId) return needDisk();
      return { ok: true, request: { kind, diskId, ...(form.force ? { force: true } : {}) } };
    case 'snapshot':
      if (!diskId) return needDisk();
      return { ok: true, request: { kind, diskId, ...(form.force ? { force: true } : {}) } };
    case 'extend': {
      if (!diskId) return needDisk();
      const size = parseSize(form.size);
      if (form.size.trim() === '') return { ok: false, field: 'size', message: 'Type the new capacity, e.g. 40G.' };
      if (size === null || size % 512 !== 0) return { ok: false, field: 'size', message: 'New capacity: a whole number of sectors, e.g. 40G or 20480M.' };
      if (subject.capacityBytes !== undefined && size <= subject.capacityBytes) {
        return { ok: false, field: 'size', message: 'The new capacity must be larger than the disk is now; extend never shrinks.' };
      }
      return { ok: true, request: { kind, diskId, sizeBytes: size, ...(form.force ? { force: true } : {}) } };
    }
    case 'backup': {
      if (!form.target) return { ok: false, field: 'target', message: 'Choose the folder to write the archive into.' };
      let source: { diskId: string } | { vmxTargetId: string };
      if (form.backupSource === 'vm') {
        if (!form.vmx) return { ok: false, field: 'vmx', message: 'Choose the VM’s .vmx file.' };
        source = { vmxTargetId: form.vmx.targetId };
      } else {
        if (!diskId) return needDisk();
        source = { diskId };
      }
      return {
        ok: true,
        request: { kind, source, targetId: form.target.targetId, ...(form.keepChain ? { keepChain: true } : {}), ...(form.force ? { force: true } : {}) },
      };
    }
    case 'restore': {
      let source: { catalogId: number } | { folderTargetId: string };
      if (subject.catalogId !== undefined) source = { catalogId: subject.catalogId };
      else if (form.archiveFolder) source = { folderTargetId: form.archiveFolder.targetId };
      else return { ok: false, field: 'archiveFolder', message: 'Choose the archive folder (the one with manifest.json).' };
      if (!form.target) return { ok: false, field: 'target', message: 'Choose the folder to restore into.' };
      return { ok: true, request: { kind, source, targetId: form.target.targetId, ...(form.restoreTo === '' ? {} : { to: form.restoreTo }) } };
    }
    case 'recover':
      if (!diskId) return needDisk();
      if (!form.target) return { ok: false, field: 'target', message: 'Choose where to write the recovered disk.' };
      return { ok: true, request: { kind, diskId, targetId: form.target.targetId, ...(form.recoverTo === '' ? {} : { to: form.recoverTo }), ...flags } };
  }
}

/** Kinds whose force flag replaces existing outputs (backup and restore never replace anything). */
export const REPLACES_WITH_FORCE: ReadonlySet<JobKind> = new Set(['convert', 'export', 'import', 'recover']);

/**
 * Why Start must wait, from what the preflight found: a disk that looks in use, or outputs that
 * exist, and force not ticked (the job would refuse the same); null when it may start.
 */
export function safetyBlock(preflight: Preflight | null, kind: JobKind, force: boolean): string | null {
  if (!preflight) return null;
  if (preflight.existing.length > 0 && !REPLACES_WITH_FORCE.has(kind)) return 'The output place already holds an archive: choose an empty folder.';
  if (force) return null;
  if (preflight.locks.length > 0) return 'The disk looks in use: shut the VM down first, or tick “go ahead anyway”.';
  if (preflight.existing.length > 0) return 'The output exists: choose another name, or tick “Replace existing files”.';
  return null;
}
