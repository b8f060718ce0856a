/**
 * Names for partition type codes, as fdisk/sgdisk print them, and the kinds of content a type
 * promises that no file-system reader handles (LDM, VMFS, LVM, swap, LUKS).
 */
export type TypedContent = 'ldm' | 'vmfs' | 'lvm-pv' | 'swap' | 'luks' | 'raid';

interface TypeInfo {
  name: string;
  content?: TypedContent;
}

const MBR_TYPES: Record<number, TypeInfo> = {
  0x01: { name: 'FAT12' },
  0x04: { name: 'FAT16 <32M' },
  0x05: { name: 'Extended' },
  0x06: { name: 'FAT16' },
  0x07: { name: 'NTFS/exFAT/HPFS' },
  0x0b: { name: 'W95 FAT32' },
  0x0c: { name: 'W95 FAT32 (LBA)' },
  0x0e: { name: 'W95 FAT16 (LBA)' },
  0x0f: { name: "W95 Ext'd (LBA)" },
  0x11: { name: 'Hidden FAT12' },
  0x12: { name: 'Compaq diagnostics' },
  0x14: { name: 'Hidden FAT16 <32M' },
  0x16: { name: 'Hidden FAT16' },
  0x17: { name: 'Hidden HPFS/NTFS' },
  0x1b: { name: 'Hidden W95 FAT32' },
  0x1c: { name: 'Hidden W95 FAT32 (LBA)' },
  0x1e: { name: 'Hidden W95 FAT16 (LBA)' },
  0x27: { name: 'Hidden NTFS WinRE' },
  0x42: { name: 'Windows LDM (dynamic disk)', content: 'ldm' },
  0x82: { name: 'Linux swap', content: 'swap' },
  0x83: { name: 'Linux' },
  0x85: { name: 'Linux extended' },
  0x8e: { name: 'Linux LVM', content: 'lvm-pv' },
  0xa5: { name: 'FreeBSD' },
  0xa6: { name: 'OpenBSD' },
  0xa8: { name: 'Darwin UFS' },
  0xa9: { name: 'NetBSD' },
  0xaf: { name: 'HFS / HFS+' },
  0xde: { name: 'Dell Utility' },
  0xee: { name: 'GPT protective' },
  0xef: { name: 'EFI System' },
  0xfb: { name: 'VMware VMFS', content: 'vmfs' },
  0xfc: { name: 'VMware VMKCORE' },
  0xfd: { name: 'Linux raid autodetect', content: 'raid' },
};

const GPT_TYPES: Record<string, TypeInfo> = {
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': { name: 'EFI System' },
  '21686148-6449-6E6F-744E-656564454649': { name: 'BIOS boot' },
  'E3C9E316-0B5C-4DB8-817D-F92DF00215AE': { name: 'Microsoft reserved' },
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': { name: 'Microsoft basic data' },
  'DE94BBA4-06D1-4D40-A16A-BFD50179D6AC': { name: 'Windows recovery environment' },
  '5808C8AA-7E8F-42E0-85D2-E1E90434CFB3': { name: 'Windows LDM metadata', content: 'ldm' },
  'AF9B60A0-1431-4F62-BC68-3311714A69AD': { name: 'Windows LDM data', content: 'ldm' },
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': { name: 'Linux filesystem' },
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': { name: 'Linux swap', content: 'swap' },
  'E6D6D379-F507-44C2-A23C-238F2A3DF928': { name: 'Linux LVM', content: 'lvm-pv' },
  'A19D880F-05FC-4D3B-A006-743F0F84911E': { name: 'Linux RAID', content: 'raid' },
  'CA7D7CCB-63ED-4C53-861C-1742536059CC': { name: 'Linux LUKS', content: 'luks' },
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': { name: 'Linux root (x86-64)' },
  '933AC7E1-2EB4-4F13-B844-0E14E2AEF915': { name: 'Linux home' },
  'BC13C2FF-59E6-4262-A352-B275FD6F7172': { name: 'Linux extended boot' },
  'AA31E02A-400F-11DB-9590-000C2911D1B8': { name: 'VMware VMFS', content: 'vmfs' },
  '9D275380-40AD-11DB-BF97-000C2911D1B8': { name: 'VMware vmkcore' },
  '9198EFFC-31C0-11DB-8F78-000C2911D1B8': { name: 'VMware reserved' },
  '48465300-0000-11AA-AA11-00306543ECAC': { name: 'Apple HFS/HFS+' },
  '7C3457EF-0000-11AA-AA11-00306543ECAC': { name: 'Apple APFS' },
  '516E7CB4-6ECF-11D6-8FF8-00022D09712B': { name: 'FreeBSD data' },
  '6A898CC3-1DD2-11B2-99A6-080020736631': { name: 'Solaris /usr & Mac ZFS' },
};

export function mbrType(code: number): TypeInfo {
  return MBR_TYPES[code] ?? { name: `unknown (0x${hex2(code)})` };
}

export function gptType(guid: string): TypeInfo {
  return GPT_TYPES[guid] ?? { name: `unknown (${guid})` };
}

export function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** MBR types that hold an EBR chain of logical partitions. */
export function isExtendedType(code: number): boolean {
  return code === 0x05 || code === 0x0f || code === 0x85;
}
