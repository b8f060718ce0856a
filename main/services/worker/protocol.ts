import type { WireError } from '../../../shared/errors.js';

/** Messages between the services and their query worker: one reply per request id. */
export interface QueryRequest {
  id: number;
  name: string;
  input: unknown;
}

export type QueryReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError; stack?: string };
