/**
 * The restore-file job: one version of a file (or folder) the catalog indexed, copied out of the
 * archive's disk where it is (read through the archive, each chunk checked against the manifest) —
 * no disk is restored, nothing is mounted — with the extract job's
 * progress over bytes, ETA and Cancel. The service found the disk, volume and path in the index.
 */
import type { JobResult, RestoreFileSpec } from '../../shared/jobs.js';
import type { JobContext } from '../io/job-context.js';
import { extractJob } from './extract.js';

export async function restoreFileJob(spec: RestoreFileSpec, ctx: JobContext): Promise<JobResult> {
  const result = await extractJob({ kind: 'extract', disk: spec.disk, volume: spec.volume, paths: [spec.path], destDir: spec.destDir, ...(spec.archiveDisk === undefined ? {} : { archiveDisk: spec.archiveDisk, at: spec.at ?? 0 }) }, ctx);
  return { ...result, summary: `${result.summary.replace(/^extracted/, 'restored')} from ${spec.from}` };
}
