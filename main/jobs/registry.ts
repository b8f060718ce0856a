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

/** Runs one job in the current thread; the worker calls this. */
export function runSpec(spec: JobSpec, ctx: JobContext): Promise<JobResult> {
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
