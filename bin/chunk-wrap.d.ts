/** See chunk-wrap.js. */
export function wrapChunk(source: string): string;
