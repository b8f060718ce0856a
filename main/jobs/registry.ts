import type { JobResult, JobSpec } from '../../shared/jobs.js';
import type { JobContext } from '../io/job-context.js';
import { refuseWriteInside } from '../io/path-sources.js';

/**
 * Runs one job in the current thread; the worker calls this. Each kind's module is loaded when a
 * job of that kind runs: a commit's worker has no use for the guest readers of extract or the
 * manifest schemas (zod) of backup, which were half of its start-up.
 */
export async function runSpec(spec: JobSpec, ctx: JobContext): Promise<JobResult> {
  for (const target of writesTo(spec)) refuseWriteInside(target);
  switch (spec.kind) {
    case 'convert':
      return (await import('../convert/convert.js')).convertJob(spec, ctx);
    case 'commit':
      return (await import('../mutate/commit.js')).commitJob(spec, ctx);
    case 'snapshot':
      return (await import('../mutate/snapshot.js')).snapshotJob(spec, ctx);
    case 'extend':
      return (await import('../mutate/extend.js')).extendJob(spec, ctx);
    case 'backup':
      return (await import('../backup/backup.js')).backupJob(spec, ctx);
    case 'restore':
      return (await import('../backup/restore.js')).restoreJob(spec, ctx);
    case 'recover':
      return (await import('../convert/recover.js')).recoverJob(spec, ctx);
    case 'extract':
      return (await import('./extract.js')).extractJob(spec, ctx);
    case 'restoreFile':
      return (await import('./restore-file.js')).restoreFileJob(spec, ctx);
    case 'indexFiles':
      return (await import('./index-files.js')).indexFilesJob(spec, ctx);
  }
}

/** What a job writes or changes: never a file inside a read-only image (a disk in a VMFS volume image). */
function writesTo(spec: JobSpec): string[] {
  switch (spec.kind) {
    case 'convert':
    case 'recover':
      return spec.dst === '-' ? [] : [spec.dst];
    case 'commit':
      return [spec.top];
    case 'snapshot':
    case 'extend':
      return [spec.disk];
    case 'backup':
      return spec.archiveDir === '-' ? [] : [spec.archiveDir];
    case 'restore':
    case 'extract':
    case 'restoreFile':
      return [spec.destDir];
    case 'indexFiles':
      return [spec.db];
  }
}
