/**
 * Names as FAT and exFAT store them: 8.3 names in an OEM code page, VFAT long names and exFAT names
 * in UTF-16LE (unpaired surrogates become U+FFFD, file-level.md §5).
 */

// Code page 437, bytes 0x80–0xFF (the default OEM code page of DOS and of mtools).
const CP437_HIGH = 'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ ';

export function decodeOem(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80]!;
  return out;
}

/** UTF-16LE code units to a string; an unpaired surrogate becomes U+FFFD. */
export function decodeUtf16(units: ArrayLike<number>): string {
  let out = '';
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!;
    if (u >= 0xd800 && u <= 0xdbff) {
      const low = i + 1 < units.length ? units[i + 1]! : 0;
      if (low >= 0xdc00 && low <= 0xdfff) {
        out += String.fromCharCode(u, low);
        i++;
      } else out += '\ufffd';
    } else if (u >= 0xdc00 && u <= 0xdfff) out += '\ufffd';
    else out += String.fromCharCode(u);
  }
  return out;
}

/** The checksum of an 11-byte short name that each VFAT long-name slot repeats. */
export function shortNameChecksum(entry: Buffer, at: number): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + entry[at + i]!) & 0xff;
  return sum;
}

/** An 8.3 name with the NT case bits (entry byte 12: 0x08 base lower case, 0x10 extension lower case). */
export function shortName(entry: Buffer, at: number, caseBits: number): string {
  const raw = Buffer.from(entry.subarray(at, at + 11));
  if (raw[0] === 0x05) raw[0] = 0xe5; // 0x05 stands for a real leading 0xE5, which marks deleted entries
  let base = decodeOem(raw.subarray(0, 8)).replace(/ +$/, '');
  let ext = decodeOem(raw.subarray(8, 11)).replace(/ +$/, '');
  if (caseBits & 0x08) base = base.toLowerCase();
  if (caseBits & 0x10) ext = ext.toLowerCase();
  return ext ? `${base}.${ext}` : base;
}

/** A volume label as stored (11 OEM bytes, space padded); null when empty or the "NO NAME" placeholder. */
export function oemLabel(bytes: Uint8Array): string | null {
  const label = decodeOem(bytes).replace(/[ \0]+$/, '');
  return label === '' || label === 'NO NAME' ? null : label;
}

/** A 32-bit volume serial number the way Windows and blkid show it: "ABCD-1234". */
export function serialUuid(serial: number): string {
  const hex = serial.toString(16).toUpperCase().padStart(8, '0');
  return `${hex.slice(0, 4)}-${hex.slice(4)}`;
}
