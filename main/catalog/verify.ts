/**
 * `catalog verify`: re-hash an archive's files against the manifest recorded at scan time and
 * name every file that is missing or changed. Hashing streams each file through SHA-256 in
 * 1 MiB reads; memory does not grow with the archive.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import { archiveFilePath, MANIFEST_NAME } from './manifest.js';
import type { ArchiveFileRecord, VerifyProblem, VerifyProgress, VerifyReport } from './types.js';

const READ_BYTES = 1024 * 1024;

export interface VerifyInput {
  id: number;
  /** The archive folder. */
  path: string;
  files: ArchiveFileRecord[];
  /** The manifest text recorded at scan time; null when it could not be parsed then. */
  manifestText: string | null;
}

export interface VerifyOptions {
  onProgress?: (p: VerifyProgress) => void;
  signal?: AbortSignal;
}

export async function verifyArchive(input: VerifyInput, options: VerifyOptions = {}): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  let checkedFiles = 0;
  let bytesHashed = 0;
  const report = (): VerifyReport => ({
    id: input.id,
    path: input.path,
    ok: problems.length === 0,
    checkedFiles,
    bytesHashed,
    problems,
    verifiedAt: new Date().toISOString(),
  });
  if (!isDirectory(input.path)) {
    problems.push({ name: '', problem: 'missing', message: 'the archive folder is missing' });
    return report();
  }
  problems.push(...checkManifest(input));
  const totalBytes = input.files.reduce((sum, f) => sum + f.bytes, 0);
  let doneBytes = 0;
  for (const f of input.files) {
    const file = archiveFilePath(input.path, f.name);
    if (file === null) {
      problems.push({ name: f.name, problem: 'unsafe-name', message: 'the manifest names a file outside the archive folder; not opened' });
      continue;
    }
    const problem = await checkFile(f, file, (n) => {
      doneBytes += n;
      bytesHashed += n;
      options.onProgress?.({ id: input.id, name: f.name, doneBytes, totalBytes });
    }, options.signal);
    if (problem) problems.push(problem);
    else checkedFiles++;
  }
  return report();
}

/** The manifest on disk must still be the one the catalog recorded. */
function checkManifest(input: VerifyInput): VerifyProblem[] {
  const file = path.join(input.path, MANIFEST_NAME);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [{ name: MANIFEST_NAME, problem: 'missing', message: 'the manifest is missing' }];
    return [{ name: MANIFEST_NAME, problem: 'unreadable', message: `cannot read the manifest: ${code ?? (e as Error).message}` }];
  }
  if (input.manifestText === null) {
    return [{ name: MANIFEST_NAME, problem: 'changed', message: 'the manifest could not be read at the last scan; rescan the folder' }];
  }
  if (text !== input.manifestText) {
    return [
      {
        name: MANIFEST_NAME,
        problem: 'changed',
        message: 'the manifest differs from the one catalogued (files were checked against the catalogued one; rescan if the archive was rewritten)',
      },
    ];
  }
  return [];
}

async function checkFile(
  expected: ArchiveFileRecord,
  file: string,
  onBytes: (n: number) => void,
  signal: AbortSignal | undefined,
): Promise<VerifyProblem | null> {
  const { name } = expected;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { name, problem: 'missing', message: 'the file is missing' };
    return { name, problem: 'unreadable', message: `cannot read it: ${code ?? (e as Error).message}` };
  }
  if (!stat.isFile()) return { name, problem: 'changed', message: 'it is no longer a regular file' };
  if (stat.size !== expected.bytes) {
    return { name, problem: 'changed', message: `it has ${stat.size} bytes, the manifest says ${expected.bytes}` };
  }
  let actual: string;
  try {
    actual = await sha256File(file, onBytes, signal);
  } catch (e) {
    if (signal?.aborted) throw new DiskchainError('E_CANCELLED', 'verify cancelled');
    return { name, problem: 'unreadable', message: `cannot read it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  if (actual !== expected.sha256.toLowerCase()) {
    return { name, problem: 'changed', message: `its content changed (sha256 ${actual}, the manifest says ${expected.sha256})` };
  }
  return null;
}

/** SHA-256 of a file, streamed in bounded reads. */
export async function sha256File(file: string, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const stream = fs.createReadStream(file, { highWaterMark: READ_BYTES, signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    onBytes?.(chunk.length);
  }
  return hash.digest('hex');
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
