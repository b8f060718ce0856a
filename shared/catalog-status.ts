/**
 * The catalog's statuses (issue 16), shared by the catalog, the CLI, the IPC contract and the app:
 * what the scans and verifies found, never more. Stored and typed with hyphens (`chain-broken`);
 * shown to people with spaces (`chain broken`).
 */
export const ENTRY_STATUSES = ['ok', 'unverified', 'damaged', 'chain-broken', 'missing-file', 'changed-since-verify', 'missing', 'error'] as const;
export type EntryStatus = (typeof ENTRY_STATUSES)[number];

/** What each status means, as the README and the app's filter say it. */
export const STATUS_MEANINGS: Record<EntryStatus, string> = {
  ok: 'opened with its whole chain and no lost data; an archive: its last verify matched and no file changed since',
  unverified: 'an archive never verified (catalog verify hashes it)',
  damaged: 'a disk that lost data, or an archive file whose size or content does not match the manifest',
  'chain-broken': 'a parent disk is missing, unreadable or does not match (CID)',
  'missing-file': 'a file the archive’s manifest lists is gone',
  'changed-since-verify': 'an archive file’s size or time changed after the last verify: verify it again',
  missing: 'not found at the last scan',
  error: 'did not read at all (not a disk we can open, or the manifest does not parse)',
};

/** `chain broken` for `chain-broken`. */
export function statusLabel(status: EntryStatus): string {
  return status === 'error' ? 'unreadable' : status.replace(/-/g, ' ');
}

/** A status as people type it (`chain broken`, `Missing_File`, `unreadable`) in its stored form, or null. */
export function parseStatus(text: string): EntryStatus | null {
  const s = text.trim().toLowerCase().replace(/[\s_]+/g, '-');
  if (s === 'unreadable') return 'error';
  return (ENTRY_STATUSES as readonly string[]).includes(s) ? (s as EntryStatus) : null;
}
