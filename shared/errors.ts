/**
 * The one error family of Diskchain. Errors cross process and IPC boundaries as data
 * ({code, message, file}), so everything a person needs is in those three fields.
 */
export type ErrorCode =
  | 'E_FORMAT' // the file is not what it claims, or its structures are damaged
  | 'E_CHAIN' // a parent is missing, loops, or does not fit its child
  | 'E_CID' // a child's parentCID differs from its parent's CID
  | 'E_UNSUPPORTED' // a valid structure this version cannot read (or a device that is not reachable)
  | 'E_NOTFOUND'
  | 'E_EXISTS'
  | 'E_IO'
  | 'E_USAGE'
  | 'E_BUSY' // another job is writing (or reading) the same files; try again when it is done
  | 'E_CANCELLED'
  | 'E_INTERNAL';

export interface WireError {
  code: ErrorCode;
  message: string;
  file?: string;
  /** Byte offset in `file` where the damage or the failed read is, when known (Go's FormatError.Off). */
  offset?: number;
}

/**
 * The CLI's exit status for each code, in one place: 2 for a usage error (as commander does),
 * 75 (EX_TEMPFAIL) when another job holds the files, 130 for a cancel (Ctrl-C), 70 (EX_SOFTWARE)
 * for a bug, 1 for everything the input or the machine is to blame for.
 */
export const EXIT_CODES: Record<ErrorCode, number> = {
  E_FORMAT: 1,
  E_CHAIN: 1,
  E_CID: 1,
  E_UNSUPPORTED: 1,
  E_NOTFOUND: 1,
  E_EXISTS: 1,
  E_IO: 1,
  E_USAGE: 2,
  E_BUSY: 75,
  E_CANCELLED: 130,
  E_INTERNAL: 70,
};

export class DiskchainError extends Error {
  override readonly name = 'DiskchainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly file?: string,
    readonly offset?: number,
  ) {
    super(message);
  }

  toWire(): WireError {
    return {
      code: this.code,
      message: this.message,
      ...(this.file === undefined ? {} : { file: this.file }),
      ...(this.offset === undefined ? {} : { offset: this.offset }),
    };
  }
}

export const formatError = (file: string, message: string, offset?: number): DiskchainError =>
  new DiskchainError('E_FORMAT', message, file, offset);

export const chainError = (file: string, message: string): DiskchainError =>
  new DiskchainError('E_CHAIN', message, file);

export const unsupportedError = (file: string, message: string): DiskchainError =>
  new DiskchainError('E_UNSUPPORTED', message, file);

export const usageError = (message: string): DiskchainError => new DiskchainError('E_USAGE', message);

export function isDiskchainError(e: unknown): e is DiskchainError {
  return e instanceof DiskchainError;
}
