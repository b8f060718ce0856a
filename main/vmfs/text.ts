/** Text and UUID fields of VMFS structures. */

/** A NUL-padded field as text (UTF-8; the bytes up to the first NUL). */
export function textField(b: Buffer, at: number, length: number): string {
  const bytes = b.subarray(at, Math.min(b.length, at + length));
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

/**
 * A VMware UUID as ESXi prints it: `%08x-%08x-%04x-%012x` of (time low u32, time high u32,
 * random u16, the host's MAC as 6 bytes), not RFC 4122.
 */
export function formatUuid(b: Buffer, at: number): string {
  const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');
  return `${hex(b.readUInt32LE(at), 8)}-${hex(b.readUInt32LE(at + 4), 8)}-${hex(b.readUInt16LE(at + 8), 4)}-${b.subarray(at + 10, at + 16).toString('hex')}`;
}

/** The inverse of formatUuid, for the builders. */
export function uuidBytes(text: string): Buffer {
  const m = /^([0-9a-f]{8})-([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{12})$/.exec(text);
  if (!m) throw new Error(`not a VMware UUID: ${text}`);
  const b = Buffer.alloc(16);
  b.writeUInt32LE(parseInt(m[1]!, 16), 0);
  b.writeUInt32LE(parseInt(m[2]!, 16), 4);
  b.writeUInt16LE(parseInt(m[3]!, 16), 8);
  Buffer.from(m[4]!, 'hex').copy(b, 10);
  return b;
}

