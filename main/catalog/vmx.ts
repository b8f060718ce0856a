/**
 * Just enough of a `.vmx` for the catalog: the VM's display name and the disk files it names
 * (`scsi0:0.fileName = "web01.vmdk"`, ide/sata/nvme alike).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A .vmx is a few KiB; anything much larger is not one. */
const MAX_VMX_BYTES = 1024 * 1024;
const DISK_KEY = /^(scsi|ide|sata|nvme)\d+:\d+\.filename$/i;

export interface VmxDisks {
  vmName: string;
  /** Absolute paths of the disks named, resolved against the .vmx's folder. */
  disks: string[];
}

/** Reads a .vmx; null when it cannot be read or is too large to be one. */
export function readVmx(file: string): VmxDisks | null {
  let text: string;
  try {
    if (fs.statSync(file).size > MAX_VMX_BYTES) return null;
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const dir = path.dirname(file);
  let displayName: string | null = null;
  const disks: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([^=#\s]+)\s*=\s*"(.*)"\s*$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    const value = unescapeVmx(m[2]!);
    if (key.toLowerCase() === 'displayname') displayName = value;
    else if (DISK_KEY.test(key) && /\.(vmdk|dsk|redo)$/i.test(value)) disks.push(resolveDisk(dir, value));
  }
  return { vmName: displayName || path.basename(file).replace(/\.vmx$/i, ''), disks };
}

/** VMware writes characters it cannot keep in a value as |XX (hex), e.g. |22 for a quote. */
function unescapeVmx(value: string): string {
  return value.replace(/\|([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function resolveDisk(dir: string, name: string): string {
  const unix = name.replace(/\\/g, '/');
  if (path.isAbsolute(unix)) return fs.existsSync(unix) ? unix : path.join(dir, path.posix.basename(unix));
  if (/^[A-Za-z]:\//.test(unix)) return path.join(dir, path.posix.basename(unix));
  return path.resolve(dir, unix);
}
