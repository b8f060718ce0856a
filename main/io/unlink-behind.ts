/**
 * Deleting a large file whose pages the kernel caches makes the unlink free every one of them
 * before it returns: 0.2–0.35 s per GiB on the machines we measured, for commit's folded REDO log,
 * while the user waits. unlinkBehind() takes the name away at once, as unlink does, and leaves the
 * freeing to a `cat` child that holds the file open until this process (or the job's worker
 * thread) lets go of the pipe to its stdin, at the latest when it ends: the last close, which does
 * the freeing, then happens in that child, after the result is out.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import type { Socket } from 'node:net';

/** Smaller files are unlinked plainly: a child process costs more than freeing them. */
const BEHIND_MIN_BYTES = 64 * 1024 * 1024;

/** Removes `file` (throws like fs.unlinkSync); a large one's pages are freed by a child later. */
export function unlinkBehind(file: string): void {
  const fd = process.platform === 'linux' ? openLarge(file) : null;
  if (fd === null) {
    fs.unlinkSync(file);
    return;
  }
  try {
    holdInChild(fd);
    fs.unlinkSync(file);
  } finally {
    // Cheap while the child holds the file; if it could not, this close does the freeing itself.
    fs.closeSync(fd);
  }
}

function openLarge(file: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    if (fs.fstatSync(fd).size >= BEHIND_MIN_BYTES) return fd;
  } catch {
    // fall through: unlink it plainly
  }
  fs.closeSync(fd);
  return null;
}

/** A `cat` reading a pipe nobody writes to, with the file as its fd 3: it ends when the pipe closes. */
function holdInChild(fd: number): void {
  try {
    const child = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore', fd], detached: true });
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    // Neither keeps this process (or worker) alive: their end is what lets the child go.
    (child.stdin as Socket | null)?.unref();
    child.unref();
  } catch {
    // No child: the unlink frees the pages itself, as it always did.
  }
}
