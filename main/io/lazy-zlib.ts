import { createRequire } from 'node:module';

type Zlib = typeof import('node:zlib');

let loaded: Zlib | undefined;

/**
 * node:zlib, loaded when first used (inflating a stream grain, a GPT or LVM checksum): loading it
 * costs ~2 ms, a twentieth of a command that never needs it (`info`, `ls`).
 */
export function zlib(): Zlib {
  loaded ??= createRequire(import.meta.url)('node:zlib') as Zlib;
  return loaded;
}
