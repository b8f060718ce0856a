/** Byte-faithful edits of a descriptor's CID, parentCID and parentFileNameHint (commit, reparent). */
import * as crypto from 'node:crypto';
import { unsupportedError } from '../../shared/errors.js';
import { formatCid } from './descriptor.js';

export interface DescriptorEdit {
  cid?: number;
  parentCid?: number;
  parentFileNameHint?: string;
}

/**
 * Sets CID / parentCID / parentFileNameHint in descriptor bytes and leaves every other byte as it
 * was (line endings, comments, DDB order, code page). A new CID also renews `ddb.longContentID`
 * (96 random bits + the CID, as VMware writes it). Keys that are missing go after createType.
 */
export function editDescriptor(bytes: Buffer, edit: DescriptorEdit, file: string): Buffer {
  // latin1 maps bytes 1:1, so text in any code page survives untouched.
  const text = bytes.toString('latin1');
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const wanted = new Map<string, string>();
  if (edit.cid !== undefined) wanted.set('cid', `CID=${formatCid(edit.cid)}`);
  if (edit.parentCid !== undefined) wanted.set('parentcid', `parentCID=${formatCid(edit.parentCid)}`);
  if (edit.parentFileNameHint !== undefined) {
    wanted.set('parentfilenamehint', `parentFileNameHint="${encodeName(edit.parentFileNameHint, text, file)}"`);
  }
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const key = /^\s*([A-Za-z.]+)\s*=/.exec(lines[i]!)?.[1]?.toLowerCase();
    if (key === undefined) continue;
    const replacement = wanted.get(key);
    if (replacement !== undefined) {
      lines[i] = replacement;
      seen.add(key);
    } else if (key === 'ddb.longcontentid' && edit.cid !== undefined) {
      lines[i] = `ddb.longContentID = "${crypto.randomBytes(12).toString('hex')}${formatCid(edit.cid)}"`;
    }
  }
  const missing = [...wanted].filter(([k]) => !seen.has(k)).map(([, line]) => line);
  if (missing.length > 0) {
    let at = lines.findIndex((l) => /^\s*createType\s*=/i.test(l));
    if (at < 0) at = lines.findIndex((l) => /^\s*version\s*=/i.test(l));
    lines.splice(at + 1, 0, ...missing);
  }
  return Buffer.from(lines.join(eol), 'latin1');
}

/** A file name in the descriptor's code page (as latin1 text, like the rest of the edit). */
function encodeName(name: string, text: string, file: string): string {
  if (name.includes('"')) throw unsupportedError(file, `a parent name with a double quote cannot be written: ${name}`);
  if ([...name].every((c) => c.charCodeAt(0) < 0x80)) return name;
  const encoding = /^\s*(?:ddb\.)?encoding\s*=\s*"?([^"\r\n#]+)"?/im.exec(text)?.[1]?.trim().toLowerCase() ?? 'utf-8';
  if (encoding === 'utf-8' || encoding === 'utf8') return Buffer.from(name, 'utf8').toString('latin1');
  const latin = [...name].every((c) => c.charCodeAt(0) < 0x80 || (c.charCodeAt(0) >= 0xa0 && c.charCodeAt(0) <= 0xff));
  if (/^(iso-8859-1|latin1|windows-1252)$/.test(encoding) && latin) return name;
  throw unsupportedError(file, `cannot write the name "${name}" into a descriptor encoded as ${encoding}`);
}
