import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Packaging needs the network, so it is not run here; electron-builder.yml is checked against
 * electron-builder's own configuration schema instead (the call its CLI makes before building).
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fromBuilder = createRequire(createRequire(import.meta.url).resolve('electron-builder'));

interface BuilderConfig {
  asarUnpack?: string[];
  files?: string[];
  linux?: { target?: unknown[]; icon?: string };
  win?: { target?: Array<{ target: string }> };
  mac?: { target?: Array<{ target: string }>; entitlements?: string };
  directories?: { buildResources?: string };
  electronFuses?: Record<string, boolean>;
  [key: string]: unknown;
}

const { getConfig, validateConfiguration } = fromBuilder('app-builder-lib/out/util/config/config') as {
  getConfig(projectDir: string, configPath: string, configFromOptions: unknown): Promise<BuilderConfig>;
  validateConfiguration(config: BuilderConfig, logger: unknown): Promise<void>;
};
const { DebugLogger } = fromBuilder('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };

async function load(): Promise<BuilderConfig> {
  return getConfig(ROOT, path.join(ROOT, 'electron-builder.yml'), null);
}

describe('electron-builder.yml', () => {
  it("passes electron-builder's own schema validation", async () => {
    await expect(validateConfiguration(await load(), new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('is a real check: an unknown key is refused by the same validation', async () => {
    const config = { ...(await load()), notAnOption: true };
    await expect(validateConfiguration(config, new DebugLogger(false))).rejects.toThrow(/configuration/);
  });

  it('builds AppImage and deb, nsis and portable, and dmg', async () => {
    const config = await load();
    expect(config.linux?.target).toEqual(['AppImage', 'deb']);
    expect(config.win?.target?.map((t) => t.target)).toEqual(['nsis', 'portable']);
    expect(config.mac?.target?.map((t) => t.target)).toEqual(['dmg']);
  });

  it('unpacks better-sqlite3 and the worker scripts, and turns the risky fuses off', async () => {
    const config = await load();
    expect(config.asarUnpack).toEqual(expect.arrayContaining(['**/node_modules/better-sqlite3/**', 'out/main/**']));
    expect(config.electronFuses).toMatchObject({ runAsNode: false, enableNodeOptionsEnvironmentVariable: false, enableNodeCliInspectArguments: false, onlyLoadAppFromAsar: true });
  });

  it('names icons and entitlements that exist in resources/', async () => {
    const config = await load();
    const buildResources = path.join(ROOT, config.directories!.buildResources!);
    expect(fs.existsSync(path.join(buildResources, 'icon.png'))).toBe(true);
    expect(fs.readdirSync(path.join(ROOT, config.linux!.icon!))).toEqual(expect.arrayContaining(['256x256.png', '512x512.png']));
    expect(fs.existsSync(path.join(ROOT, config.mac!.entitlements!))).toBe(true);
    expect(fs.existsSync(path.join(ROOT, 'resources', 'icon.png'))).toBe(true);
    const png = fs.readFileSync(path.join(buildResources, 'icon.png'));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBeGreaterThanOrEqual(512); // width: macOS wants 512 or more
  });
});
