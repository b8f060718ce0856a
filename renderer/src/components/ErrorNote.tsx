import type { ReactNode } from 'react';
import type { ErrorCode, WireError } from '../../../shared/errors';
import { appText, baseName, cleanText } from '../format';

/** What a person can do about each kind of failure; the message itself says what happened. */
export const HINTS: Record<ErrorCode, string> = {
  E_FORMAT: 'The file is damaged or is not a VMware disk. Run Check to see where.',
  E_CHAIN: 'Put the missing or wrong parent file back beside the child (same folder, same name), then open it again.',
  E_CID: 'The parent was changed after this snapshot was taken. Open anyway only to inspect or rescue the data.',
  E_UNSUPPORTED: 'This version of Diskchain cannot do this; see “Known limits” in the README.',
  E_NOTFOUND: 'The file was moved or deleted. Open it again from where it is now.',
  E_EXISTS: 'Choose another name or folder, or tick “Replace existing files”.',
  E_IO: 'Check that the drive is connected, has free space, and that you may read and write there.',
  E_USAGE: 'Correct the option and try again.',
  E_BUSY: 'Another job is using these files. Wait for it to finish (see Jobs), then try again.',
  E_CANCELLED: 'The job was cancelled and its partial output removed.',
  E_INTERNAL: 'This is a bug in Diskchain. Run the same action with the command line and DEBUG=diskchain to see the details.',
};

export interface ErrorNoteProps {
  error: WireError;
  /** What was being done, e.g. "Could not open the chain". */
  title?: string;
  /** Buttons that fix or retry it. */
  children?: ReactNode;
}

/** An error shown next to what failed: what happened, which file, and what to do. */
export function ErrorNote({ error, title, children }: ErrorNoteProps) {
  return (
    <div className="note error" role="alert">
      <span className="icon" aria-hidden="true">
        !
      </span>
      <div className="body">
        {title && <strong>{title}: </strong>}
        <span>{cleanText(appText(error.message))}</span>
        {error.file && (
          <div className="where" title={error.file}>
            File: <span className="mono">{cleanText(baseName(error.file))}</span>
          </div>
        )}
        <div className="fix">{HINTS[error.code] ?? HINTS.E_INTERNAL}</div>
        {children && <div className="note-actions">{children}</div>}
      </div>
    </div>
  );
}

export function WarningNote({ children }: { children: ReactNode }) {
  return (
    <div className="note warning" role="status">
      <span className="icon" aria-hidden="true">
        !
      </span>
      <div className="body">{children}</div>
    </div>
  );
}

export function OkNote({ children }: { children: ReactNode }) {
  return (
    <div className="note ok" role="status">
      <span className="icon" aria-hidden="true">
        ✓
      </span>
      <div className="body">{children}</div>
    </div>
  );
}
