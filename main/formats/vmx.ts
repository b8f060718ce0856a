/**
 * VMware `.vmx` configuration files: which disks a VM uses, its NVRAM file, and a rewrite that
 * re-points disk entries while keeping every other line (and the line endings) as they were.
 *
 * The format is `key = "value"` per line, keys case-insensitive, `#` comments. Values escape
 * special characters as `|XX` (two hex digits: `|22` is a quote, `|7C` a bar), as VMware writes them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import { imageSourceOf, readWholeFile } from '../io/path-sources.js';

/** A .vmx larger than this is not a configuration file (real ones are a few KiB). */
const MAX_VMX_BYTES = 4 * 1024 * 1024;

export interface VmxEntry {
  /** Key as written. */
  key: string;
  value: string;
  /** Index into lines. */
  line: number;
}

export interface Vmx {
  path: string;
  /** Original lines without their endings. */
  lines: string[];
  eol: '\n' | '\r\n';
  endsWithEol: boolean;
  /** Lower-cased key → entry (last one wins, as VMware reads it). */
  entries: Map<string, VmxEntry>;
}

/** A virtual disk attached to the VM. */
export interface VmxDisk {
  /** `scsi0:0`, `ide1:0`, `sata0:2`, `nvme0:1` as written in the key. */
  device: string;
  /** The entry's value as written (relative to the .vmx folder, or absolute). */
  fileName: string;
  /** Where the file is on this machine (absolute). */
  path: string;
}

const DISK_KEY = /^((?:scsi|ide|sata|nvme)\d+:\d+)\.filename$/i;
const LINE = /^\s*([^=#\s][^=]*?)\s*=\s*(.*?)\s*$/;

export function readVmx(file: string): Vmx {
  const abs = path.resolve(file);
  // A .vmx inside a VMFS volume image (`lun.img:/web01/web01.vmx`) is read through the image.
  if (imageSourceOf(abs)) return parseVmx(readWholeFile(abs, MAX_VMX_BYTES).toString('utf8'), abs);
  let size: number;
  try {
    size = fs.statSync(abs).size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DiskchainError(code === 'ENOENT' ? 'E_NOTFOUND' : 'E_IO', code === 'ENOENT' ? 'no such file' : String((e as Error).message), abs);
  }
  if (size > MAX_VMX_BYTES) throw new DiskchainError('E_FORMAT', `a ${size}-byte file is too large to be a .vmx`, abs);
  return parseVmx(fs.readFileSync(abs, 'utf8'), abs);
}

export function parseVmx(text: string, file: string): Vmx {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const endsWithEol = text.endsWith('\n');
  const lines = text.split(/\r?\n/);
  if (endsWithEol) lines.pop();
  const entries = new Map<string, VmxEntry>();
  lines.forEach((raw, index) => {
    const m = LINE.exec(raw);
    if (!m) return;
    entries.set(m[1]!.toLowerCase(), { key: m[1]!, value: decodeValue(m[2]!), line: index });
  });
  return { path: path.resolve(file), lines, eol, endsWithEol, entries };
}

export function vmxValue(vmx: Vmx, key: string): string | undefined {
  return vmx.entries.get(key.toLowerCase())?.value;
}

/**
 * The VM's virtual disks, in the order the .vmx lists them. Left out: devices marked
 * `present = "FALSE"`, CD-ROMs (`deviceType` cdrom-image, cdrom-raw, atapi-cdrom) and ISO images.
 */
export function vmxDisks(vmx: Vmx): VmxDisk[] {
  const dir = path.dirname(vmx.path);
  const disks: Array<VmxDisk & { line: number }> = [];
  for (const [key, entry] of vmx.entries) {
    const m = DISK_KEY.exec(key);
    if (!m) continue;
    const device = entry.key.slice(0, m[1]!.length);
    const present = vmxValue(vmx, `${device}.present`);
    const deviceType = vmxValue(vmx, `${device}.deviceType`) ?? '';
    const controllerPresent = vmxValue(vmx, `${device.split(':')[0]}.present`);
    if (present !== undefined && !isTrue(present)) continue;
    if (controllerPresent !== undefined && !isTrue(controllerPresent)) continue;
    if (/cdrom|atapi/i.test(deviceType) || /\.iso$/i.test(entry.value) || entry.value.trim() === '') continue;
    disks.push({ device, fileName: entry.value, path: resolveVmxPath(dir, entry.value), line: entry.line });
  }
  return disks.sort((a, b) => a.line - b.line).map(({ device, fileName, path: p }) => ({ device, fileName, path: p }));
}

/** The NVRAM file: the `nvram` entry, else `<name>.nvram` beside the .vmx; null when there is none. */
export function vmxNvram(vmx: Vmx): string | null {
  const dir = path.dirname(vmx.path);
  const named = vmxValue(vmx, 'nvram');
  const candidate = named ? resolveVmxPath(dir, named) : path.join(dir, `${path.basename(vmx.path, path.extname(vmx.path))}.nvram`);
  return isFile(candidate) ? candidate : null;
}

/**
 * The .vmx text with entries changed (keys are matched case-insensitively; a key not present is
 * appended). Every other line, comment and the line endings stay as they were.
 */
export function rewriteVmx(vmx: Vmx, changes: Map<string, string>): string {
  const lines = [...vmx.lines];
  for (const [key, value] of changes) {
    const entry = vmx.entries.get(key.toLowerCase());
    const line = `${entry?.key ?? key} = "${encodeValue(value)}"`;
    if (entry) lines[entry.line] = line;
    else lines.push(line);
  }
  return lines.join(vmx.eol) + (vmx.endsWithEol || changes.size > 0 ? vmx.eol : '');
}

/** Relative values are relative to the .vmx folder; a Windows or foreign absolute path falls back to its base name there. */
export function resolveVmxPath(dir: string, value: string): string {
  const unix = value.replace(/\\/g, '/');
  if (path.isAbsolute(unix) && fs.existsSync(unix)) return unix;
  if (path.isAbsolute(unix) || /^[A-Za-z]:\//.test(unix)) return path.join(dir, path.posix.basename(unix));
  return path.resolve(dir, unix);
}

function isTrue(value: string): boolean {
  return /^(true|yes|1)$/i.test(value.trim());
}

function decodeValue(raw: string): string {
  const unquoted = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  return unquoted.replace(/\|([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function encodeValue(value: string): string {
  return value.replace(/[|"]/g, (c) => `|${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function isFile(p: string): boolean {
  const inImage = imageSourceOf(p);
  if (inImage) return inImage.stat(p)?.kind === 'file';
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
