/** A VMFS volume image as the app shows it: its VM folders, each with its .vmx files and disks. */
export interface VolumeTreeDisk {
  /** Index into VolumeTree.disks' order: what the renderer sends to open it (never a path). */
  entry: number;
  name: string;
  /** `IMAGE:/folder/name.vmdk`, for display. */
  path: string;
  sizeBytes: number;
}

export interface VolumeTreeFolder {
  /** The folder inside the volume: `/web01`; `/` for files at the root. */
  folder: string;
  vmx: string[];
  disks: VolumeTreeDisk[];
}

export interface VolumeTree {
  image: string;
  label: string;
  version: string;
  folders: VolumeTreeFolder[];
  /** Folders that could not be read (damage), one line each. */
  problems: string[];
}
