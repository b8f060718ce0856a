import type { JobResult, JobSpec } from '../../shared/jobs.js';
import { backupJob } from '../backup/backup.js';
import { restoreJob } from '../backup/restore.js';
import { convertJob } from '../convert/convert.js';
import { recoverJob } from '../convert/recover.js';
import { extractJob } from './extract.js';
import { restoreFileJob } from './restore-file.js';
import { extendJob } from '../mutate/extend.js';
import { commitJob } from '../mutate/commit.js';
import { snapshotJob } from '../mutate/snapshot.js';
import type { JobContext } from '../io/job-context.js';
import { refuseWriteInside } from '../io/path-sources.js';

/** Runs one job in the current thread; the worker calls this. */
export async function runSpec(spec: JobSpec, ctx: JobContext): Promise<JobResult> {
  for (const target of writesTo(spec)) refuseWriteInside(target);
  switch (spec.kind) {
    case 'convert':
      return convertJob(spec, ctx);
    case 'commit':
      return commitJob(spec, ctx);
    case 'snapshot':
      return snapshotJob(spec, ctx);
    case 'extend':
      return extendJob(spec, ctx);
    case 'backup':
      return backupJob(spec, ctx);
    case 'restore':
      return restoreJob(spec, ctx);
    case 'recover':
      return recoverJob(spec, ctx);
    case 'extract':
      return extractJob(spec, ctx);
    case 'restoreFile':
      return restoreFileJob(spec, ctx);
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
  }
}
