/** The services' query worker: answers engine queries (queries.ts) one message at a time, by request id. */
import { parentPort } from 'node:worker_threads';
import { DiskchainError } from '../../../shared/errors.js';
import type { QueryReply, QueryRequest } from './protocol.js';
import { queries } from './queries.js';
import { installVmfsPaths } from '../../vmfs/paths.js';

// The app opens disks inside VMFS volume images (`IMAGE:/dir/disk.vmdk`) like host disks.
installVmfsPaths();

const port = parentPort!;

port.on('message', (request: QueryRequest) => {
  void answer(request).then((reply) => port.postMessage(reply));
});

async function answer({ id, name, input }: QueryRequest): Promise<QueryReply> {
  try {
    if (!Object.hasOwn(queries, name)) throw new DiskchainError('E_INTERNAL', `no such query: ${name}`);
    const run = queries[name as keyof typeof queries] as (input: unknown) => unknown;
    return { id, ok: true, value: await run(input) };
  } catch (e) {
    if (e instanceof DiskchainError) return { id, ok: false, error: e.toWire(), ...(e.stack ? { stack: e.stack } : {}) };
    const err = e instanceof Error ? e : new Error(String(e));
    return { id, ok: false, error: { code: 'E_INTERNAL', message: err.message }, ...(err.stack ? { stack: err.stack } : {}) };
  }
}
