'use strict';
const Module = require('node:module');

/**
 * A CLI chunk as V8 compiles it: Node's CommonJS wrapper around the source, its `#!` line blanked.
 * The build's code cache (rolldown.config.js) and its use (bin/diskchain.js) must wrap alike, or V8
 * rejects the cache.
 */
exports.wrapChunk = (source) => Module.wrap(source.replace(/^#!.*/, ''));
