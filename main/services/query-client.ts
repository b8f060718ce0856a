/**
 * The main-thread side of the query worker: one persistent worker thread per client, requests by
 * id, answers as promises. Errors come back as DiskchainError wire objects and are rebuilt here.
 * The worker does not keep the process alive while nothing is asked; if it dies, pending queries
 * fail with one line and the next query starts a new worker.
 */
import { Worker } from 'node:worker_threads';
import { DiskchainError } from '../../shared/errors.js';
import { workerUrl } from '../io/worker-url.js';
import type { QueryReply, QueryRequest } from './worker/protocol.js';
import type { QueryInput, QueryName, QueryOutput } from './worker/queries.js';

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class QueryClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  ask<N extends QueryName>(name: N, input: QueryInput<N>): Promise<QueryOutput<N>> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    const request: QueryRequest = { id, name, input };
    return new Promise<QueryOutput<N>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage(request);
    });
  }

  /** Stops the worker; pending queries fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
    this.failAll(new DiskchainError('E_CANCELLED', 'the app is closing'));
  }

  private start(): Worker {
    const worker = new Worker(workerUrl('worker/query-worker', import.meta.url));
    worker.unref();
    worker.on('message', (reply: QueryReply) => this.settle(worker, reply));
    worker.on('error', (e) => this.lost(worker, new DiskchainError('E_INTERNAL', `query worker failed: ${e.message}`)));
    worker.on('exit', (code) => this.lost(worker, new DiskchainError('E_INTERNAL', `query worker stopped unexpectedly (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private settle(worker: Worker, reply: QueryReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) worker.unref();
    if (reply.ok) return pending.resolve(reply.value);
    const e = new DiskchainError(reply.error.code, reply.error.message, reply.error.file);
    if (reply.stack) e.stack = reply.stack;
    pending.reject(e);
  }

  private lost(worker: Worker, error: DiskchainError): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.failAll(error);
  }

  private failAll(error: DiskchainError): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(error);
  }
}

let shared: QueryClient | null = null;

/** One client for services built without their own (unit tests that build a DiskService alone). */
export function sharedQueryClient(): QueryClient {
  return (shared ??= new QueryClient());
}
