import type { Event, Payload } from '../../shared/ipc/contract.js';

/** Pushes an event to every window (Electron) or every socket (browser host). */
export type Emit = <E extends Event>(event: E, payload: Payload<E>) => void;
