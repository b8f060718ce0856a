export { XfsFileSystem, xfsDriver } from './xfs-file-system.js';
