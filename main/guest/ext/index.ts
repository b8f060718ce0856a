/** The ext2/3/4 reader: the driver the volume registry plugs in. */
export { extDriver, ExtFileSystem, openExt } from './ext-fs.js';
