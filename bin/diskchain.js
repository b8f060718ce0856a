#!/usr/bin/env node
// CommonJS (bin/package.json): an ES entry would start Node's ES module loader, 10 ms of every run.
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');
const { wrapChunk } = require('./chunk-wrap.js');

const bundle = path.join(__dirname, '..', 'dist', 'cli');

if ((process.env.DEBUG ?? '').split(',').includes('diskchain')) {
  // Stacks name the TypeScript sources (the bundle's source maps), not its chunks.
  process.setSourceMapsEnabled(true);
} else {
  // The bundle's chunks compile from the V8 code cache the build wrote beside them (rolldown.config.js):
  // no parse of a whole chunk before it runs. Node 20 has no compile cache of its own.
  const compile = Module.prototype._compile;
  Module.prototype._compile = function (content, filename) {
    let cachedData;
    try {
      if (path.dirname(filename) === bundle) cachedData = fs.readFileSync(`${filename}.cache`);
    } catch {
      // no cache: compiled as usual
    }
    if (cachedData === undefined) return compile.call(this, content, filename);
    const script = new vm.Script(wrapChunk(content), { filename, cachedData });
    const require = (id) => this.require(id);
    require.resolve = (request, options) => Module._resolveFilename(request, this, false, options);
    require.main = process.mainModule;
    require.cache = Module._cache;
    return script.runInThisContext({ displayErrors: true }).call(this.exports, this.exports, require, this, filename, path.dirname(filename));
  };
}

require('../dist/cli/diskchain.cjs');
