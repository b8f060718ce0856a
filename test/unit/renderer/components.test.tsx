import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainGraph, BrokenTies } from '../../../renderer/src/components/ChainGraph';
import { CheckResults } from '../../../renderer/src/components/CheckResults';
import { ErrorNote } from '../../../renderer/src/components/ErrorNote';
import { GeometryPanel } from '../../../renderer/src/components/GeometryPanel';
import { JobsPanel } from '../../../renderer/src/components/JobsPanel';
import { LinkDetail } from '../../../renderer/src/components/LinkDetail';
import { createStores, StoresContext, type Stores } from '../../../renderer/src/store';
import { App, windowTitle } from '../../../renderer/src/views/App';
import { fail, fakeApi, type FakeApi } from './fake-api';
import { cidMismatchInfo, DISK_A, esx2Info, JOB_1, ref } from './fixtures';

afterEach(cleanup);

function withStores(api: FakeApi, ui: React.ReactNode): Stores {
  const stores = createStores(api, { catalogDebounceMs: 0 });
  render(<StoresContext.Provider value={stores}>{ui}</StoresContext.Provider>);
  return stores;
}

describe('chain graph', () => {
  it('draws an ESX 2 chain as three links, base first, each with its kind', () => {
    render(<ChainGraph info={esx2Info()} selected={null} onSelect={() => {}} />);
    const list = screen.getByRole('list', { name: 'Chain links, base first' });
    const links = within(list).getAllByRole('listitem');
    expect(links).toHaveLength(3);
    expect(within(links[0]!).getByRole('button').getAttribute('aria-label')).toBe('a.dsk, base');
    expect(within(links[1]!).getByRole('button').getAttribute('aria-label')).toBe('a.dsk.REDO, REDO log');
    expect(within(links[2]!).getByRole('button').getAttribute('aria-label')).toBe('a.dsk.REDO.REDO, REDO log');
  });

  it('marks a CID mismatch on the link and explains it in words', () => {
    const info = cidMismatchInfo();
    render(
      <>
        <ChainGraph info={info} selected={null} onSelect={() => {}} />
        <BrokenTies info={info} />
      </>,
    );
    expect(screen.getByRole('button', { name: 'child.vmdk, delta (COWD), CID mismatch' })).toBeTruthy();
    const alert = within(screen.getByRole('list', { name: 'Broken links' })).getByRole('alert');
    expect(alert.textContent).toContain('expects its parent to have CID 0badc0de, but base.vmdk has CID 12345678');
    expect(alert.textContent).toContain('changed after this snapshot was taken');
  });

  it('clicking a link selects it; arrow keys move between links', () => {
    const picked: number[] = [];
    render(<ChainGraph info={esx2Info()} selected={null} onSelect={(i) => picked.push(i)} />);
    const base = screen.getByRole('button', { name: 'a.dsk, base' });
    fireEvent.click(base);
    expect(picked).toEqual([2]);
    base.focus();
    fireEvent.keyDown(base, { key: 'ArrowRight' });
    expect(document.activeElement?.getAttribute('aria-label')).toBe('a.dsk.REDO, REDO log');
  });
});

describe('link detail', () => {
  it('shows a guest-supplied descriptor as text, never as markup', () => {
    const { container } = render(<LinkDetail info={cidMismatchInfo()} index={0} onClose={() => {}} />);
    expect(screen.getByLabelText('Descriptor text').textContent).toContain('<script>alert(1)</script>');
    expect(container.querySelector('script')).toBeNull();
    expect(screen.getByText('named by parentFileNameHint', { exact: false })).toBeTruthy();
  });
});

describe('geometry and check', () => {
  it('lists the reasons of a geometry mismatch', () => {
    render(
      <GeometryPanel
        report={{
          geometry: { cylinders: 100, heads: 16, sectors: 63 },
          defaultGeometry: { cylinders: 130, heads: 16, sectors: 63 },
          adapterType: 'ide',
          source: 'descriptor',
          mismatch: true,
          reasons: ['C/H/S covers 49 MiB of a 64 MiB disk'],
        }}
        capacityBytes={64 * 1024 * 1024}
      />,
    );
    expect(screen.getByText('C/H/S covers 49 MiB of a 64 MiB disk')).toBeTruthy();
    expect(screen.getByRole('table', { name: 'Geometry' })).toBeTruthy();
  });

  it('shows each problem with its file and location, errors first', () => {
    render(
      <CheckResults
        report={{
          path: '/vm/a.vmdk',
          errors: 1,
          warnings: 1,
          problems: [
            { severity: 'warning', file: '/vm/a.vmdk', message: 'unclean shutdown flag set' },
            { severity: 'error', file: '/vm/a-s001.vmdk', location: 'grain table 12 entry 40', message: 'grain beyond end of file' },
          ],
        }}
      />,
    );
    const rows = within(screen.getByRole('table', { name: 'Problems' })).getAllByRole('row');
    expect(rows[1]!.textContent).toContain('grain beyond end of file');
    expect(rows[1]!.textContent).toContain('a-s001.vmdk');
    expect(rows[1]!.textContent).toContain('grain table 12 entry 40');
  });

  it('an error says what to do about it', () => {
    render(<ErrorNote error={{ code: 'E_EXISTS', message: 'out.vmdk exists' }} title="Could not start" />);
    expect(screen.getByRole('alert').textContent).toContain('Replace existing files');
  });
});

describe('jobs panel', () => {
  it('shows progress with rate and ETA, cancels, and keeps a failed job with its error', async () => {
    const api = fakeApi({ 'jobs:list': () => [], 'jobs:cancel': () => null });
    const stores = withStores(api, <JobsPanel />);
    act(() => {
      stores.jobs.getState().onProgress({ jobId: JOB_1, phase: 'copy', doneBytes: 32 * 1024 * 1024, totalBytes: 64 * 1024 * 1024, rate: 8 * 1024 * 1024, eta: 4 });
    });
    const row = screen.getByRole('listitem');
    expect(row.textContent).toContain('50 %');
    expect(row.textContent).toContain('8 MiB/s');
    expect(row.textContent).toContain('ETA 4 s');
    fireEvent.click(within(row).getByRole('button', { name: /^Cancel/ }));
    expect(api.callsOf('jobs:cancel')).toEqual([{ jobId: JOB_1 }]);
    act(() => {
      stores.jobs.getState().onDone({ jobId: JOB_1, status: 'failed', result: null, error: { code: 'E_IO', message: 'no space left on /out' } });
    });
    expect(screen.getByRole('alert').textContent).toContain('no space left on /out');
    expect(screen.queryByRole('button', { name: /^Cancel/ })).toBeNull();
  });

  it('an index job counts archives and disks, files and bytes read, with its ETA and Cancel', () => {
    const api = fakeApi({ 'jobs:list': () => [], 'jobs:cancel': () => null });
    const stores = withStores(api, <JobsPanel />);
    const counts = { unit: 'entries' as const, files: 12_345, readBytes: 3 * 1024 * 1024, current: 'web-2 (web:1)' };
    act(() => {
      stores.jobs.getState().onProgress({ jobId: JOB_1, phase: 'indexing', doneBytes: 3, totalBytes: 12, rate: 0.1, eta: 90, counts });
    });
    const row = screen.getByRole('listitem');
    expect(row.textContent).toContain('indexing web-2 (web:1)');
    expect(row.textContent).toContain('25 %');
    expect(row.textContent).toContain('3 of 12 archives and disks');
    expect(row.textContent).toContain(`${(12_345).toLocaleString()} files`);
    expect(row.textContent).toContain('3 MiB read');
    expect(row.textContent).toContain('ETA 1 min 30 s');
    expect(row.textContent).not.toContain('B/s');
    fireEvent.click(within(row).getByRole('button', { name: /^Cancel/ }));
    expect(api.callsOf('jobs:cancel')).toEqual([{ jobId: JOB_1 }]);
  });
});

describe('app', () => {
  it('says what to do when nothing is open, and titles the window', async () => {
    const api = fakeApi({ 'disks:list': () => [], 'recent:list': () => [], 'jobs:list': () => [] });
    withStores(api, <App />);
    expect(screen.getByRole('heading', { name: 'Open a VMware disk' })).toBeTruthy();
    expect(document.title).toBe('Diskchain — open a VMware disk');
    expect(windowTitle('catalog', null)).toBe('Catalog — Diskchain');
  });

  it('opens a disk, shows its chain, and offers Open anyway after a CID refusal', async () => {
    const api = fakeApi({
      'disks:list': () => [],
      'recent:list': () => [],
      'jobs:list': () => [],
      'disks:info': (input) =>
        input.ignoreCid ? cidMismatchInfo() : fail({ code: 'E_CID', message: 'parent base.vmdk was modified after child.vmdk was made', file: '/vm/child.vmdk' }),
    });
    const stores = withStores(api, <App />);
    await act(async () => {
      stores.disks.getState().add([ref(DISK_A, '/vm/child.vmdk')], true);
      await new Promise((r) => setTimeout(r, 0));
    });
    expect(document.title).toBe('child.vmdk — Diskchain');
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('parent base.vmdk was modified');
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Open anyway (ignore CID)' }));
      await new Promise((r) => setTimeout(r, 0));
    });
    expect(screen.getAllByRole('listitem').length).toBeGreaterThanOrEqual(2);
    expect(screen.getByRole('button', { name: 'child.vmdk, delta (COWD), CID mismatch' })).toBeTruthy();
  });
});
