#!/usr/bin/env node
// With DEBUG=diskchain, stacks name the TypeScript sources (the bundle's source maps), not its chunks.
if ((process.env.DEBUG ?? '').split(',').includes('diskchain')) process.setSourceMapsEnabled(true);
await import('../dist/cli/diskchain.js');
