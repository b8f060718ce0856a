import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { wrapChunk } from '../../../bin/chunk-wrap.js';
import { builtEngine } from '../../helpers/dist.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const BUNDLE = path.join(ROOT, 'dist/cli');
builtEngine('cli/index.js');

describe('the command line bundle (dist/cli)', () => {
  it('has a V8 code cache beside every chunk that this Node accepts', () => {
    const chunks = fs.readdirSync(BUNDLE).filter((f) => f.endsWith('.cjs'));
    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks) {
      const file = path.join(BUNDLE, chunk);
      const script = new vm.Script(wrapChunk(fs.readFileSync(file, 'utf8')), { filename: file, cachedData: fs.readFileSync(`${file}.cache`) });
      expect({ chunk, rejected: script.cachedDataRejected }).toEqual({ chunk, rejected: false });
    }
  });

  it('runs the same without its code cache (another Node version rejects it): same output, same status', () => {
    const disk = path.join(ROOT, 'package.json');
    const run = (env: Record<string, string>) => spawnSync(process.execPath, [path.join(ROOT, 'bin/diskchain.js'), 'info', disk], { encoding: 'utf8', env: { ...process.env, ...env } });
    const cached = run({});
    // DEBUG=diskchain compiles every chunk from its source (and maps stacks to the TypeScript).
    const uncached = run({ DEBUG: 'diskchain' });
    expect(cached.status).toBe(1);
    expect(cached.stderr).toMatch(/^diskchain: .*package\.json: /);
    expect(uncached.status).toBe(cached.status);
    expect(uncached.stderr.split('\n')[0]).toBe(cached.stderr.split('\n')[0]);
  });
});
