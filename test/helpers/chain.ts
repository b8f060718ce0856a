import { openChain, type Chain } from '../../main/disk/chain.js';

/** `use` on the chain of `disk`, closed after, whatever happens. */
export function withChain<T>(disk: string, use: (chain: Chain) => T): T {
  const chain = openChain(disk);
  try {
    return use(chain);
  } finally {
    chain.close();
  }
}
