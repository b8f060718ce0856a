/** The ext2/3/4 reader: the driver the volume registry plugs in. */
export { extDriver, ExtFileSystem } from './ext-fs.js';
