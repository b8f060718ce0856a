import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRequest, diskStem, emptyForm, safetyBlock } from '../../../renderer/src/components/actions';
import { ActionDialog } from '../../../renderer/src/components/ActionDialog';
import { clampView, panView, zoomView } from '../../../renderer/src/components/AllocationMap';
import { createStores, StoresContext } from '../../../renderer/src/store';
import { fail, fakeApi } from './fake-api';
import { DISK_A, esx2Info, JOB_1, ref, TARGET_1 } from './fixtures';

afterEach(cleanup);

const settle = (ms = 0): Promise<void> => act(async () => new Promise((r) => setTimeout(r, ms)));

const folder = { targetId: TARGET_1, type: 'folder' as const, path: '/out', name: 'out' };
const file = { targetId: TARGET_1, type: 'file' as const, path: '/out/a.vmdk', name: 'a.vmdk' };

describe('action forms → job requests', () => {
  it('names outputs as the CLI does', () => {
    expect(diskStem('/vm/a.dsk.REDO.REDO')).toBe('a');
    expect(diskStem('/vm/web01-000002.vmdk')).toBe('web01');
  });

  it('asks for what is missing before it builds a request', () => {
    expect(buildRequest({ kind: 'export', diskId: DISK_A }, emptyForm())).toMatchObject({ ok: false, field: 'target' });
    expect(buildRequest({ kind: 'extend', diskId: DISK_A, capacityBytes: 1024 ** 3 }, { ...emptyForm(), size: '512M' })).toMatchObject({ ok: false, field: 'size' });
    expect(buildRequest({ kind: 'convert', diskId: DISK_A }, { ...emptyForm(), target: file, to: 'twoGbMaxExtentSparse', segmentSize: '3G' })).toMatchObject({
      ok: false,
      field: 'segmentSize',
    });
    expect(buildRequest({ kind: 'restore' }, { ...emptyForm(), target: folder })).toMatchObject({ ok: false, field: 'archiveFolder' });
  });

  it('maps every option onto the contract', () => {
    expect(buildRequest({ kind: 'export', diskId: DISK_A }, { ...emptyForm(), target: folder, segmentSize: '1G', force: true, ignoreCid: true })).toEqual({
      ok: true,
      request: { kind: 'export', diskId: DISK_A, targetId: TARGET_1, segmentBytes: 1024 ** 3, force: true, ignoreCid: true },
    });
    expect(buildRequest({ kind: 'convert', diskId: DISK_A }, { ...emptyForm(), target: file, to: 'streamOptimized', compressLevel: '9', adapter: 'lsilogic' })).toEqual({
      ok: true,
      request: { kind: 'convert', diskId: DISK_A, targetId: TARGET_1, to: 'streamOptimized', compressLevel: 9, adapter: 'lsilogic' },
    });
    expect(buildRequest({ kind: 'import', diskId: DISK_A }, { ...emptyForm(), target: file, thin: true })).toEqual({
      ok: true,
      request: { kind: 'import', diskId: DISK_A, targetId: TARGET_1, thin: true },
    });
    expect(buildRequest({ kind: 'extend', diskId: DISK_A, capacityBytes: 1024 ** 3 }, { ...emptyForm(), size: '40G' })).toEqual({
      ok: true,
      request: { kind: 'extend', diskId: DISK_A, sizeBytes: 40 * 1024 ** 3 },
    });
    expect(buildRequest({ kind: 'backup', diskId: DISK_A }, { ...emptyForm(), target: folder, keepChain: true })).toEqual({
      ok: true,
      request: { kind: 'backup', source: { diskId: DISK_A }, targetId: TARGET_1, keepChain: true },
    });
    expect(buildRequest({ kind: 'restore', catalogId: 4 }, { ...emptyForm(), target: folder, restoreTo: 'vmfs' })).toEqual({
      ok: true,
      request: { kind: 'restore', source: { catalogId: 4 }, targetId: TARGET_1, to: 'vmfs' },
    });
  });
});

describe('allocation map view arithmetic', () => {
  const TiB = 1024 ** 4;
  it('zooms around the pointer and never leaves the disk', () => {
    expect(zoomView({ start: 0, length: 2 * TiB }, 0.5, 0.5, 2 * TiB)).toEqual({ start: TiB / 2, length: TiB });
    expect(zoomView({ start: 0, length: 2 * TiB }, 0.5, 0, 2 * TiB)).toEqual({ start: 0, length: TiB });
    expect(zoomView({ start: 0, length: 2 * TiB }, 4, 0.5, 2 * TiB)).toEqual({ start: 0, length: 2 * TiB });
    expect(zoomView({ start: 0, length: 128 * 1024 }, 0.01, 0.5, 2 * TiB).length).toBe(64 * 1024);
    expect(panView({ start: TiB, length: TiB }, 0.5, 2 * TiB)).toEqual({ start: TiB, length: TiB });
    expect(clampView({ start: -5, length: 10 }, 100)).toEqual({ start: 0, length: 10 });
  });
});

describe('action dialog', () => {
  it('chooses the output in main, shows the space preflight, starts the job and closes', async () => {
    const api = fakeApi({
      'disks:info': () => esx2Info(),
      'targets:chooseFolder': () => folder,
      'jobs:preflight': () => ({ folder: '/out', requiredBytes: 8 * 1024 * 1024, availableBytes: 1024 ** 3, enough: true, basis: 'allocated data', locks: [], vms: [], vmNames: [], existing: [] }),
      'jobs:start': () => ({ jobId: JOB_1, kind: 'export', title: 'export a.dsk.REDO.REDO', status: 'running', startedAt: 1, endedAt: null, progress: null, result: null, error: null }),
      'jobs:list': () => [],
    });
    const stores = createStores(api);
    stores.disks.getState().add([ref(DISK_A, '/vm/a.dsk.REDO.REDO')], true);
    await act(async () => new Promise((r) => setTimeout(r, 0)));
    render(
      <StoresContext.Provider value={stores}>
        <ActionDialog />
      </StoresContext.Provider>,
    );
    act(() => stores.ui.getState().openDialog({ kind: 'export', diskId: DISK_A }));
    const dialog = screen.getByRole('dialog', { name: 'Export a.dsk.REDO.REDO' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Choose folder…' }));
    await settle();
    await settle(250);
    expect((within(dialog).getByLabelText('Output folder') as HTMLInputElement).value).toBe('/out');
    expect(within(dialog).getByRole('status').textContent).toContain('Needs about 8 MiB in /out; 1 GiB free.');
    await act(async () => {
      fireEvent.click(within(dialog).getByRole('button', { name: 'Start export' }));
      await new Promise((r) => setTimeout(r, 0));
    });
    expect(api.callsOf('jobs:start')).toEqual([{ request: { kind: 'export', diskId: DISK_A, targetId: TARGET_1 } }]);
    expect(stores.ui.getState().dialog).toBeNull();
    expect(stores.jobs.getState().byId[JOB_1]?.status).toBe('running');
  });

  it('refuses to start without enough space, and shows why main refused a start', async () => {
    let enough = false;
    const api = fakeApi({
      'disks:info': () => esx2Info(),
      'targets:chooseFile': () => file,
      'jobs:preflight': () => ({ folder: '/out', requiredBytes: 1024 ** 3, availableBytes: 1024, enough, basis: 'full capacity', locks: [], vms: [], vmNames: [], existing: [] }),
      'jobs:start': () => fail({ code: 'E_EXISTS', message: 'a.vmdk exists', file: '/out/a.vmdk' }),
    });
    const stores = createStores(api);
    stores.disks.getState().add([ref(DISK_A, '/vm/a.dsk.REDO.REDO')], true);
    await act(async () => new Promise((r) => setTimeout(r, 0)));
    render(
      <StoresContext.Provider value={stores}>
        <ActionDialog />
      </StoresContext.Provider>,
    );
    act(() => stores.ui.getState().openDialog({ kind: 'import', diskId: DISK_A }));
    const dialog = screen.getByRole('dialog', { name: 'Import a.dsk.REDO.REDO' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Choose file…' }));
    await settle();
    await settle(250);
    expect(within(dialog).getByRole('alert').textContent).toContain('Not enough free space');
    expect((within(dialog).getByRole('button', { name: 'Start import' }) as HTMLButtonElement).disabled).toBe(true);

    enough = true;
    fireEvent.click(within(dialog).getByLabelText('Thin (vmfsThin)'));
    await settle();
    await settle(250);
    await act(async () => {
      fireEvent.click(within(dialog).getByRole('button', { name: 'Start import' }));
      await new Promise((r) => setTimeout(r, 0));
    });
    expect(within(dialog).getByRole('alert').textContent).toContain('a.vmdk exists');
    expect(within(dialog).getByRole('alert').textContent).toContain('Replace existing files');
    expect(stores.ui.getState().dialog).not.toBeNull();
  });
});

describe('Start waits for what the job would refuse', () => {
  const preflight = (found: { locks?: string[]; existing?: string[] }) => ({
    folder: '/out',
    requiredBytes: 1,
    availableBytes: 10,
    enough: true,
    basis: 'x',
    locks: found.locks ?? [],
    vms: [],
    vmNames: [],
    existing: found.existing ?? [],
  });
  it('a lock or an existing output blocks Start until force is ticked; an archive folder in use blocks it for good', () => {
    expect(safetyBlock(null, 'convert', false)).toBeNull();
    expect(safetyBlock(preflight({}), 'snapshot', false)).toBeNull();
    expect(safetyBlock(preflight({ locks: ['/vm/web01.vmx.lck'] }), 'snapshot', false)).toMatch(/looks in use/);
    expect(safetyBlock(preflight({ locks: ['/vm/web01.vmx.lck'] }), 'snapshot', true)).toBeNull();
    expect(safetyBlock(preflight({ existing: ['/out/a.vmdk'] }), 'convert', false)).toMatch(/Replace existing files/);
    expect(safetyBlock(preflight({ existing: ['/out/a.vmdk'] }), 'convert', true)).toBeNull();
    expect(safetyBlock(preflight({ existing: ['/out/arch'] }), 'backup', true)).toMatch(/empty folder/);
  });
});
