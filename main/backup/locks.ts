/** VMware lock detection lives in disk/in-use.ts, where every writing job can reach it. */
export { chainFiles, findLocks } from '../disk/in-use.js';
