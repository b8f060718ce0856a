/** What a partition table says, before anything looks inside the partitions. */
export type TableScheme = 'mbr' | 'gpt' | 'none';

export interface PartitionEntry {
  /** The number Linux gives it: MBR primaries 1–4 by slot, logicals from 5 in chain order; GPT by slot. */
  index: number;
  scheme: 'mbr' | 'gpt';
  /** Bytes from the start of the disk. */
  start: number;
  size: number;
  /** `0x83` for MBR, the type GUID for GPT. */
  typeCode: string;
  /** `Linux`, `Microsoft basic data`, `Linux LVM`… */
  typeName: string;
  /** The GPT partition name, null for MBR. */
  name: string | null;
  /** The GPT unique partition GUID, null for MBR. */
  partUuid: string | null;
  bootable: boolean;
  notes: string[];
}

export interface PartitionTable {
  scheme: TableScheme;
  /** Logical sector size the table is in: 512, or 4096 when the GPT header sits at byte 4096. */
  sectorSize: number;
  partitions: PartitionEntry[];
  /** Whole-table remarks: "hybrid MBR", "primary GPT header CRC is wrong: read the backup GPT at LBA …". */
  notes: string[];
}
