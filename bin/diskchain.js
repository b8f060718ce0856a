#!/usr/bin/env node
// CommonJS (bin/package.json): an ES entry would start Node's ES module loader, 10 ms of every run.
'use strict';
// With DEBUG=diskchain, stacks name the TypeScript sources (the bundle's source maps), not its chunks.
if ((process.env.DEBUG ?? '').split(',').includes('diskchain')) process.setSourceMapsEnabled(true);
require('../dist/cli/diskchain.cjs');
