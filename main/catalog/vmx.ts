/**
 * Just enough of a `.vmx` for the catalog: the VM's display name and the disk files it names,
 * read through the backup's .vmx reader so both agree on what a VM's disks are.
 */
import * as path from 'node:path';
import { readVmx as readVmxFile, vmxDisks, vmxValue } from '../formats/vmx.js';

export interface VmxDisks {
  vmName: string;
  /** Absolute paths of the disks named, resolved against the .vmx's folder. */
  disks: string[];
}

/** Reads a .vmx; null when it cannot be read or is too large to be one. */
export function readVmx(file: string): VmxDisks | null {
  try {
    const vmx = readVmxFile(file);
    return {
      vmName: vmxValue(vmx, 'displayName') || path.basename(file).replace(/\.vmx$/i, ''),
      disks: vmxDisks(vmx).map((d) => d.path),
    };
  } catch {
    return null;
  }
}
