/**
 * The index-files job (the app's Index files): `catalog index` in a worker thread, on its own
 * connection to the catalog, with progress over catalog entries (files listed and bytes read
 * alongside) and Cancel. A cancel lands between entries or inside a walk; the entry being indexed
 * then keeps its earlier index (its new rows are dropped) and is indexed again next time.
 */
import * as path from 'node:path';
import type { IndexProgress, IndexSummary } from '../../shared/catalog-files.js';
import { DiskchainError } from '../../shared/errors.js';
import type { IndexFilesSpec, JobResult, ProgressCounts } from '../../shared/jobs.js';
import { Catalog } from '../catalog/catalog.js';
import type { JobContext } from '../io/job-context.js';

const PHASE = 'indexing';

export async function indexFilesJob(spec: IndexFilesSpec, ctx: JobContext): Promise<JobResult> {
  const catalog = Catalog.open(spec.db);
  try {
    let counts: ProgressCounts = { unit: 'entries', files: 0, readBytes: 0, current: '' };
    const onProgress = (p: IndexProgress): void => {
      counts = { unit: 'entries', files: p.files, readBytes: p.readBytes, current: `${path.basename(p.path)}${p.disk ? ` (${p.disk}:${p.volume})` : ''}` };
      ctx.progress(PHASE, p.entriesDone, p.entriesTotal, counts);
    };
    const index = await catalog.index(spec.ids, { onProgress, cancelled: () => isCancelled(ctx), force: spec.force === true });
    ctx.progress(PHASE, index.entries.length, index.entries.length, { ...counts, files: index.files, current: '' });
    return { outputs: [spec.db], summary: summaryOf(index), index };
  } finally {
    catalog.close();
  }
}

/** The indexer reads the flag inside its walks: a yes or no, not a throw. */
function isCancelled(ctx: JobContext): boolean {
  try {
    ctx.throwIfCancelled();
    return false;
  } catch (e) {
    if (e instanceof DiskchainError && e.code === 'E_CANCELLED') return true;
    throw e;
  }
}

function summaryOf(s: IndexSummary): string {
  const rest = s.skipped + s.failed > 0 ? `, ${s.skipped} skipped, ${s.failed} failed` : '';
  return `indexed ${s.indexed} entr${s.indexed === 1 ? 'y' : 'ies'} (${s.files} files), ${s.unchanged} unchanged${rest}`;
}
