import { afterAll } from 'vitest';
import { openChain, type Chain } from '../../main/disk/chain.js';
import { chainDevice, type BlockDevice } from '../../main/guest/block-device.js';
import { toVmdk } from './guest-images.js';

const openedChains: Chain[] = [];
afterAll(() => openedChains.splice(0).forEach((c) => c.close()));

/**
 * The disk as the engine reads it: a device over the chain of a VMDK made of the raw image. The
 * chains opened this way in a test file are closed after its tests (vitest only).
 */
export function vmdkDevice(raw: string): BlockDevice {
  const chain = openChain(toVmdk(raw));
  openedChains.push(chain);
  return chainDevice(chain);
}
