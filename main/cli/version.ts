import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** Read from package.json at run time so `--version` and archive manifests never disagree with it. */
export const VERSION: string = (require('../../../package.json') as { version: string }).version;
