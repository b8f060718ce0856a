/** The manifest's file name alone: probing for an archive should not load the manifest's schemas (zod). */
export const MANIFEST_NAME = 'manifest.json';
