/**
 * One writer at a time on a disk's files. Every job that writes takes, before it writes anything,
 * an exclusive lock on each file it writes and a shared lock on each file of the chain it reads:
 * readers exclude writers, not each other. Two commits of one child, or a convert of a parent
 * that a commit is changing, then refuse instead of corrupting the chain.
 *
 * A lock is a hidden file beside the locked one, created atomically (`wx`): `.NAME.diskchain-lock`
 * for the writer, `.NAME.diskchain-read-TOKEN` for each reader. It holds who took it (pid, host,
 * job, start time). A lock whose process is gone — no such pid, or a pid that now belongs to a
 * process started later (Linux: /proc/PID/stat start time) — is stale and is taken over, so a
 * crash or SIGKILL never leaves a disk locked. Locks of another host cannot be checked and count
 * as held; the message names the file to delete by hand.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import { DiskchainError } from '../../shared/errors.js';

export interface LockRequest {
  /** The job, as users know it: `commit`, `convert`… */
  job: string;
  /** Files written or replaced (and names about to be created). */
  writes: string[];
  /** Files only read (the rest of a chain). A file in both is locked for writing. */
  reads: string[];
}

export interface HeldLocks {
  /** Removes every lock this job took; safe to call twice; never rejects. */
  release(): Promise<void>;
}

interface Holder {
  pid: number;
  host: string;
  job: string;
  startedAt: string;
  mode: 'write' | 'read';
  token: string;
  /** worker_threads id: jobs of the desktop app share one pid. */
  thread: number;
  /** Linux process start time (clock ticks since boot), to tell a reused pid. */
  procStart: string | null;
}

const WRITE_SUFFIX = '.diskchain-lock';
const READ_INFIX = '.diskchain-read-';
/** A lock file still empty this long after its creation was abandoned mid-write. */
const EMPTY_GRACE_MS = 5000;
const TAKEOVER_ATTEMPTS = 5;

interface Taken {
  lock: string;
  token: string;
}

/** Tokens of the locks this thread holds: a lock of our own pid and thread that is not here is left over. */
const held = new Set<string>();

export function lockFiles(request: LockRequest): HeldLocks {
  const writes = unique(request.writes);
  const reads = unique(request.reads).filter((r) => !writes.includes(r));
  const taken: Taken[] = [];
  const releaseNow = (): void => {
    for (const t of taken.splice(0).reverse()) removeOwn(t);
  };
  const release = async (): Promise<void> => {
    for (const t of taken.splice(0).reverse()) {
      held.delete(t.token);
      if (readHolder(t.lock)?.token !== t.token) continue;
      await fs.promises.rm(t.lock, { force: true }).catch(() => undefined);
    }
  };
  try {
    sweepStale([...writes, ...reads]);
    for (const file of writes) {
      const lock = takeWriteLock(file, request.job);
      if (lock) taken.push(lock);
    }
    for (const file of reads) {
      const lock = takeReadLock(file, request.job);
      if (lock) taken.push(lock);
    }
  } catch (e) {
    releaseNow();
    throw e;
  }
  return { release };
}

/** The lock files of `file` that exist now (for tests and diagnostics). */
export function lockFilesOf(file: string): string[] {
  const target = canonical(file);
  const dir = path.dirname(target);
  const name = path.basename(target);
  return list(dir)
    .filter((n) => n === `.${name}${WRITE_SUFFIX}` || n.startsWith(`.${name}${READ_INFIX}`))
    .map((n) => path.join(dir, n));
}

function takeWriteLock(file: string, job: string): Taken | null {
  const target = canonical(file);
  if (!isFolder(path.dirname(target))) return null;
  const lock = writeLockPath(target);
  const holder = newHolder(job, 'write');
  for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS; attempt++) {
    if (create(lock, holder, target)) {
      const mine = { lock, token: holder.token };
      // A reader that came first keeps its file: we give way to it.
      const reader = liveReaders(target)[0];
      if (reader) {
        removeOwn(mine);
        throw busy(target, reader.holder, reader.lock);
      }
      return mine;
    }
    const other = readHolder(lock);
    if (!isStale(lock, other)) throw busy(target, other, lock);
    takeOver(lock, other, target);
  }
  throw new DiskchainError('E_BUSY', 'other jobs keep taking its lock; try again', target);
}

function takeReadLock(file: string, job: string): Taken | null {
  const target = canonical(file);
  if (!isFolder(path.dirname(target))) return null;
  const holder = newHolder(job, 'read');
  const lock = path.join(path.dirname(target), `.${path.basename(target)}${READ_INFIX}${holder.token.slice(0, 8)}`);
  // A read-only folder (a mounted datastore, a DVD) cannot hold a lock, nor can anyone write there.
  if (!create(lock, holder, target, true)) return null;
  const mine = { lock, token: holder.token };
  const writeLock = writeLockPath(target);
  for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS && fs.existsSync(writeLock); attempt++) {
    const writer = readHolder(writeLock);
    if (!isStale(writeLock, writer)) {
      removeOwn(mine);
      throw busy(target, writer, writeLock);
    }
    takeOver(writeLock, writer, target);
  }
  return mine;
}

/** Creates `lock` holding `holder`; false when it exists (or, with `optional`, cannot be made). */
function create(lock: string, holder: Holder, target: string, optional = false): boolean {
  let fd: number;
  try {
    fd = fs.openSync(lock, 'wx');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && !optional) return false;
    if (optional && (code === 'EROFS' || code === 'EACCES' || code === 'EPERM')) return false;
    throw new DiskchainError('E_IO', `cannot create the lock file ${path.basename(lock)} beside it: ${code ?? (e as Error).message}`, target);
  }
  try {
    fs.writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    fs.closeSync(fd);
  }
  held.add(holder.token);
  return true;
}

function liveReaders(target: string): Array<{ holder: Holder; lock: string }> {
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target)}${READ_INFIX}`;
  const live: Array<{ holder: Holder; lock: string }> = [];
  for (const name of list(dir)) {
    if (!name.startsWith(prefix)) continue;
    const file = path.join(dir, name);
    const reader = readHolder(file);
    if (isStale(file, reader)) removeQuietly(file);
    else if (reader) live.push({ holder: reader, lock: file });
  }
  return live;
}

const LOCK_NAME = /^\..+\.diskchain-(?:lock|read-[0-9a-f]{8})$/;
const ASIDE_NAME = /^\..+\.diskchain-lock\.stale-[0-9a-f]{8}$/;

/**
 * Removes stale locks in the folders of `files`, of any file: a job killed after it renamed or
 * deleted a file leaves a lock that no later job on that name would take over.
 */
function sweepStale(files: string[]): void {
  for (const dir of new Set(files.map((f) => path.dirname(f)))) {
    for (const name of list(dir)) {
      const file = path.join(dir, name);
      if (ASIDE_NAME.test(name)) {
        if (isStale(file, null)) removeQuietly(file);
        continue;
      }
      if (!LOCK_NAME.test(name)) continue;
      const holder = readHolder(file);
      if (!isStale(file, holder)) continue;
      try {
        takeOver(file, holder, file);
      } catch {
        // Taken by a live job meanwhile, or not removable: the lock itself will say so if it matters.
      }
    }
  }
}

/**
 * Moves a stale lock aside and removes it. The rename is atomic, so of two jobs taking over the
 * same stale lock one moves it; should the other move the winner's fresh lock instead, it puts
 * it back (link refuses to replace) and gives way.
 */
function takeOver(lock: string, stale: Holder | null, target: string): void {
  const aside = `${lock}.stale-${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(lock, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new DiskchainError('E_IO', `cannot remove the stale lock ${path.basename(lock)}: ${(e as NodeJS.ErrnoException).code}`, target);
  }
  const moved = readHolder(aside);
  if (moved !== null && moved.token !== stale?.token) {
    try {
      fs.linkSync(aside, lock);
    } catch {
      // Someone else holds it now in any case.
    }
    removeQuietly(aside);
    throw busy(target, moved, lock);
  }
  removeQuietly(aside);
}

function isStale(lock: string, holder: Holder | null): boolean {
  if (holder === null) {
    // Unreadable: being written this instant, or abandoned half-written long ago.
    try {
      return Date.now() - fs.statSync(lock).mtimeMs > EMPTY_GRACE_MS;
    } catch {
      return true;
    }
  }
  if (holder.host !== os.hostname()) return false;
  if (holder.pid === process.pid && holder.procStart === ownStart) {
    return holder.thread === threadId && !held.has(holder.token);
  }
  if (!processAlive(holder.pid)) return true;
  const start = processStart(holder.pid);
  return holder.procStart !== null && start !== null && start !== holder.procStart;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Field 22 of /proc/PID/stat (after the parenthesised command name, which may hold spaces). */
function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

const ownStart = processStart(process.pid);

function newHolder(job: string, mode: Holder['mode']): Holder {
  return {
    pid: process.pid,
    host: os.hostname(),
    job,
    startedAt: new Date().toISOString(),
    mode,
    token: crypto.randomBytes(16).toString('hex'),
    thread: threadId,
    procStart: ownStart,
  };
}

function readHolder(lock: string): Holder | null {
  try {
    const h = JSON.parse(fs.readFileSync(lock, 'utf8')) as Partial<Holder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string' || typeof h.token !== 'string') return null;
    return {
      pid: h.pid,
      host: h.host,
      job: typeof h.job === 'string' ? h.job : 'another job',
      startedAt: typeof h.startedAt === 'string' ? h.startedAt : '',
      mode: h.mode === 'read' ? 'read' : 'write',
      token: h.token,
      thread: typeof h.thread === 'number' ? h.thread : -1,
      procStart: typeof h.procStart === 'string' ? h.procStart : null,
    };
  } catch {
    return null;
  }
}

/** `web01.vmdk is being written by commit (pid 1234, since 21:14); wait for it to finish, or cancel it` */
function busy(target: string, holder: Holder | null, lock: string): DiskchainError {
  const name = path.basename(target);
  if (holder === null) return new DiskchainError('E_BUSY', `${name} is being locked by another job this moment; try again`, target);
  const verb = holder.mode === 'read' ? 'read' : 'written';
  const since = sinceText(holder.startedAt);
  const otherHost = holder.host !== os.hostname();
  const who = `${holder.job} (pid ${holder.pid}${otherHost ? ` on ${holder.host}` : ''}${since ? `, since ${since}` : ''})`;
  const hint = otherHost ? `wait for it, or delete ${lock} if that job no longer runs` : 'wait for it to finish, or cancel it';
  return new DiskchainError('E_BUSY', `${name} is being ${verb} by ${who}; ${hint}`, target);
}

function sinceText(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '';
  const hhmm = `${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}`;
  return Date.now() - t.getTime() > 20 * 3600 * 1000 ? `${t.toISOString().slice(0, 10)} ${hhmm}` : hhmm;
}

/** Only our own lock goes: should another job have taken it over, it is that job's now. */
function removeOwn(t: Taken): void {
  held.delete(t.token);
  removeQuietly(t.lock, t.token);
}

/** rmSync, not unlinkSync: releasing must not fail the job it ends (nor count as one of its steps). */
function removeQuietly(file: string, expectToken?: string): void {
  try {
    if (expectToken !== undefined && readHolder(file)?.token !== expectToken) return;
    fs.rmSync(file, { force: true });
  } catch {
    // A lock left behind is stale once we are gone and is taken over then.
  }
}

function writeLockPath(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}${WRITE_SUFFIX}`);
}

function canonical(file: string): string {
  const abs = path.resolve(file);
  try {
    return fs.realpathSync(abs);
  } catch {
    // Not there yet (an output): its folder may still be a symlink.
    try {
      return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
    } catch {
      return abs;
    }
  }
}

function unique(files: string[]): string[] {
  return [...new Set(files.map(canonical))];
}

function isFolder(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function list(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
