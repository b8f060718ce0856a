import type { WireError } from '../../../shared/ipc/contract';

/** A value fetched from main: not asked yet, on its way, here, or failed with a reason. */
export type Loadable<T> =
  | { status: 'idle' }
  | { status: 'loading'; value?: T }
  | { status: 'ready'; value: T }
  | { status: 'error'; error: WireError; value?: T };

export const idle: Loadable<never> = { status: 'idle' };

export function loading<T>(previous?: Loadable<T>): Loadable<T> {
  const value = previous && 'value' in previous ? previous.value : undefined;
  return value === undefined ? { status: 'loading' } : { status: 'loading', value };
}

export function valueOf<T>(l: Loadable<T> | undefined): T | undefined {
  return l && 'value' in l ? l.value : undefined;
}
