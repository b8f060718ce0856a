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
  | 'E_CANCELLED'
  | 'E_INTERNAL';

export interface WireError {
  code: ErrorCode;
  message: string;
  file?: string;
}

export class DiskchainError extends Error {
  override readonly name = 'DiskchainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }

  toWire(): WireError {
    return this.file === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, file: this.file };
  }
}

export const formatError = (file: string, message: string): DiskchainError =>
  new DiskchainError('E_FORMAT', message, file);

export const chainError = (file: string, message: string): DiskchainError =>
  new DiskchainError('E_CHAIN', message, file);

export const unsupportedError = (file: string, message: string): DiskchainError =>
  new DiskchainError('E_UNSUPPORTED', message, file);

export const usageError = (message: string): DiskchainError => new DiskchainError('E_USAGE', message);

export function isDiskchainError(e: unknown): e is DiskchainError {
  return e instanceof DiskchainError;
}
