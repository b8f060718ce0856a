import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createServices } from '../../../main/services/index.js';
import { ScriptedDialogs } from '../../../main/services/dialogs.js';
import { absolute, FileBrowser, looksLikeDisk, MAX_ENTRIES } from '../../../main/services/files.js';
import { tmpDir } from '../../helpers/tmp.js';

describe('the file browser of the browser host', () => {
  const dir = tmpDir('diskchain-files-');
  const folder = path.join(dir, 'vms');
  fs.mkdirSync(path.join(folder, 'web01'), { recursive: true });
  fs.mkdirSync(path.join(folder, 'Archive'));
  fs.writeFileSync(path.join(folder, 'notes.txt'), 'hello');
  fs.writeFileSync(path.join(folder, 'web01.vmx'), 'displayName = "web01"\n');
  fs.writeFileSync(path.join(folder, 'web10.vmdk'), Buffer.alloc(1000));
  fs.writeFileSync(path.join(folder, 'web2.vmdk'), Buffer.alloc(2048));
  fs.writeFileSync(path.join(folder, 'old.dsk.REDO'), Buffer.alloc(512));
  fs.writeFileSync(path.join(folder, 'old.dsk'), Buffer.alloc(4096));
  const when = new Date('2026-03-04T05:06:07Z');
  fs.utimesSync(path.join(folder, 'web2.vmdk'), when, when);
  const browser = new FileBrowser(path.join(dir, 'state'));

  it('lists disk-looking files first, then folders, then other files, each by name (numbers in order)', async () => {
    const listing = await browser.list(folder);
    expect(listing.entries.map((e) => e.name)).toEqual(['old.dsk', 'old.dsk.REDO', 'web2.vmdk', 'web10.vmdk', 'Archive', 'web01', 'notes.txt', 'web01.vmx']);
    expect(listing.truncated).toBe(false);
  });

  it('gives sizes and modification dates from stat, folders without a size', async () => {
    const listing = await browser.list(folder);
    expect(listing.entries.find((e) => e.name === 'web2.vmdk')).toEqual({ name: 'web2.vmdk', type: 'file', sizeBytes: 2048, mtime: when.getTime(), diskLike: true });
    expect(listing.entries.find((e) => e.name === 'web01')).toMatchObject({ type: 'folder', sizeBytes: null, diskLike: false });
  });

  it('names the parent folder, and none at the root', async () => {
    expect((await browser.list(`${folder}/web01/..`)).path).toBe(folder);
    expect((await browser.list(folder)).parent).toBe(dir);
    expect((await browser.list('/')).parent).toBeNull();
  });

  it('refuses relative paths instead of reading the server\'s working folder', async () => {
    for (const p of ['vms', '.', '..', 'vms/web01', '~/vms']) {
      await expect(browser.list(p)).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringContaining('absolute') });
      expect(() => absolute(p)).toThrow(/absolute/);
    }
  });

  it('says what a typed path is without reading it', async () => {
    expect(await browser.look(path.join(folder, 'web2.vmdk'))).toEqual({ path: path.join(folder, 'web2.vmdk'), type: 'file', parentIsFolder: true });
    expect((await browser.look(`${folder}/`)).type).toBe('folder');
    expect(await browser.look(path.join(folder, 'nope', 'x.vmdk'))).toMatchObject({ type: 'missing', parentIsFolder: false });
  });

  it('refuses a file or a missing folder with one clear error', async () => {
    await expect(browser.list(path.join(folder, 'notes.txt'))).rejects.toMatchObject({ code: 'E_USAGE', message: 'not a folder' });
    await expect(browser.list(path.join(folder, 'gone'))).rejects.toMatchObject({ code: 'E_NOTFOUND', message: 'no such folder' });
  });

  it('lists a huge folder in part and says so', async () => {
    const big = path.join(dir, 'big');
    fs.mkdirSync(big);
    for (let i = 0; i <= MAX_ENTRIES; i++) fs.writeFileSync(path.join(big, `f${i}`), '');
    const listing = await browser.list(big);
    expect(listing.entries).toHaveLength(MAX_ENTRIES);
    expect(listing.truncated).toBe(true);
  });

  it('remembers recent folders, newest first, without repeats', async () => {
    await browser.remember(folder);
    await browser.remember(dir);
    await browser.remember(folder);
    expect(await browser.recentFolders()).toEqual([folder, dir]);
  });

  it('knows VMware disk names', () => {
    expect(['a.vmdk', 'A.VMDK', 'b.dsk', 'b.dsk.REDO', 'b.dsk.REDO.REDO', 'c-delta.vmdk'].every(looksLikeDisk)).toBe(true);
    expect(['a.vmx', 'a.vmdk.lck', 'a.img', 'vmdk'].some(looksLikeDisk)).toBe(false);
  });

  it('is offered by the browser host only: the desktop app keeps its native dialogs', async () => {
    const services = createServices({ mode: 'electron', version: 't', dialogs: new ScriptedDialogs(), emit: () => {}, stateDir: path.join(dir, 's2'), catalogDb: path.join(dir, 'c.db') });
    try {
      await expect(Promise.resolve().then(() => services.handlers['files:list']({ path: folder }))).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
      await expect(Promise.resolve().then(() => services.handlers['files:openDisks']({ paths: [path.join(folder, 'web2.vmdk')] }))).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
    } finally {
      await services.dispose();
    }
  });
});
