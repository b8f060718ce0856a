import { describe, expect, it } from 'vitest';
import type { FolderListing, PathLook } from '../../../shared/ipc/contract';
import { createStores } from '../../../renderer/src/store';
import { fakeApi } from './fake-api';

const ID = '0b6a4a8e-5a3c-4d7e-9f00-1a2b3c4d5e6f';
const listing = (p: string): FolderListing => ({ path: p, parent: '/', entries: [{ name: 'web01.vmdk', type: 'file', sizeBytes: 1, mtime: 1, diskLike: true }], truncated: false });

/** A host whose files are /vms (a folder), /vms/web01.vmdk (a file) and nothing else. */
function host() {
  const look = ({ path }: { path: string }): PathLook => {
    const p = path.replace(/\/+$/, '') || '/';
    const type = p === '/vms' || p === '/' ? 'folder' : p === '/vms/web01.vmdk' ? 'file' : 'missing';
    return { path: p, type, parentIsFolder: p.startsWith('/vms/') || p.split('/').length === 2 };
  };
  return fakeApi({
    'app:info': () => ({ mode: 'host', version: 't', platform: 'linux-x64', dialogs: 'scripted', dropOpens: false }),
    'files:recentFolders': () => ['/vms'],
    'files:look': look,
    'files:list': ({ path }) => listing(path.replace(/\/+$/, '')),
    'files:openDisks': ({ paths }) => paths.map((p) => ({ diskId: ID, path: p, name: 'web01.vmdk', openedAt: 1 })),
    'files:target': ({ path, type }) => ({ targetId: ID, type, path, name: path.split('/').pop()! }),
    'disks:open': () => [],
    'targets:chooseFile': () => null,
    'targets:chooseFolder': () => null,
    'recent:list': () => [],
  });
}

async function hostStores() {
  const api = host();
  const stores = createStores(api);
  stores.ui.getState().setAppInfo(await api.invoke('app:info', {}));
  return { api, stores };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('the file browser store', () => {
  it('opens a disk typed in the Path field when no answer was prepared, and refuses a relative path first', async () => {
    const { api, stores } = await hostStores();
    const opening = stores.disks.getState().openDialog();
    await tick();
    const browse = stores.browse.getState();
    expect(browse.request).toMatchObject({ mode: 'open' });
    expect(stores.browse.getState().recent).toEqual(['/vms']);
    browse.setPathText('vms/web01.vmdk');
    await stores.browse.getState().submit();
    expect(stores.browse.getState().error?.message).toMatch(/starting with \//);
    expect(api.callsOf('files:look')).toEqual([]); // refused in the page: nothing asked of the host
    stores.browse.getState().setPathText('/vms');
    await stores.browse.getState().submit();
    expect(stores.browse.getState().listing?.path).toBe('/vms');
    expect(stores.browse.getState().pathText).toBe('/vms/');
    stores.browse.getState().setPathText('/vms/web01.vmdk');
    await stores.browse.getState().submit();
    await opening;
    expect(api.callsOf('files:openDisks')).toEqual([{ paths: ['/vms/web01.vmdk'] }]);
    expect(stores.disks.getState().order).toEqual([ID]);
    expect(stores.browse.getState().request).toBeNull();
  });

  it('saves into the folder listed under the suggested name, a new file included', async () => {
    const { api, stores } = await hostStores();
    const choosing = stores.targets.getState().chooseFile({ mode: 'save', suggestedName: 'out.vmdk', title: 'Convert: choose the output file' });
    await tick();
    await stores.browse.getState().go('/vms');
    expect(stores.browse.getState().pathText).toBe('/vms/out.vmdk');
    await stores.browse.getState().confirm();
    expect(await choosing).toMatchObject({ path: '/vms/out.vmdk', type: 'file' });
    expect(api.callsOf('files:target')).toEqual([{ path: '/vms/out.vmdk', type: 'file', mode: 'save' }]);
  });

  it('chooses a folder with Enter on the folder listed, or the main button; a file is not a folder', async () => {
    const { stores } = await hostStores();
    const choosing = stores.targets.getState().chooseFolder({ title: 'Export: choose the output folder' });
    await tick();
    stores.browse.getState().setPathText('/vms/web01.vmdk');
    await stores.browse.getState().submit();
    expect(stores.browse.getState().error?.message).toMatch(/Not a folder/);
    stores.browse.getState().setPathText('/vms');
    await stores.browse.getState().submit();
    expect(stores.browse.getState().request).not.toBeNull(); // listed, not yet chosen
    await stores.browse.getState().submit();
    expect(await choosing).toMatchObject({ path: '/vms', type: 'folder' });
  });

  it('answers null when cancelled, and is never shown where native dialogs answer (Electron)', async () => {
    const { stores } = await hostStores();
    const choosing = stores.targets.getState().chooseFolder({});
    await tick();
    stores.browse.getState().cancel();
    expect(await choosing).toBeNull();

    const api = host();
    const electron = createStores(api);
    electron.ui.getState().setAppInfo({ mode: 'electron', version: 't', platform: 'linux-x64', dialogs: 'native', dropOpens: true });
    expect(await electron.targets.getState().chooseFolder({})).toBeNull();
    expect(electron.browse.getState().request).toBeNull();
  });
});
