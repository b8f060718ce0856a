import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStores, StoresContext } from '../../../renderer/src/store';
import { CatalogView } from '../../../renderer/src/views/CatalogView';
import { fakeApi } from './fake-api';
import { entry } from './fixtures';

afterEach(cleanup);

// happy-dom does no layout: give elements the size a window would, so the virtualizer has a viewport.
const sizes = { offsetHeight: 420, offsetWidth: 900, clientHeight: 420, clientWidth: 900 } as const;
const saved = new Map<string, PropertyDescriptor | undefined>();
beforeAll(() => {
  for (const [key, value] of Object.entries(sizes)) {
    saved.set(key, Object.getOwnPropertyDescriptor(HTMLElement.prototype, key));
    Object.defineProperty(HTMLElement.prototype, key, { configurable: true, get: () => value });
  }
});
afterAll(() => {
  for (const [key, descriptor] of saved) {
    if (descriptor) Object.defineProperty(HTMLElement.prototype, key, descriptor);
  }
});

const settle = (ms = 0): Promise<void> => act(async () => new Promise((r) => setTimeout(r, ms)));

describe('catalog view', () => {
  it('renders only the rows in view of a 10,000-row catalog, and searching narrows it', async () => {
    const api = fakeApi({
      'catalog:list': (q) => ({
        rows: Array.from({ length: Math.min(q.limit ?? 200, 10_000 - (q.offset ?? 0)) }, (_, i) => entry((q.offset ?? 0) + i + 1, `disk${(q.offset ?? 0) + i}.vmdk`)),
        total: 10_000,
      }),
      'catalog:search': (q) => ({ rows: [entry(42, `${q.query}.vmdk`)], total: 1 }),
      'catalog:show': (q) => ({ entry: entry(q.id, `${q.id}.vmdk`), disks: [], segments: [], chain: ['/a/top.vmdk', '/a/base.vmdk'], raw: '{}' }),
    });
    const stores = createStores(api, { catalogDebounceMs: 0 });
    render(
      <StoresContext.Provider value={stores}>
        <CatalogView />
      </StoresContext.Provider>,
    );
    await settle();
    const table = screen.getByRole('table', { name: 'Catalog' });
    expect(table.getAttribute('aria-rowcount')).toBe('10001');
    const rendered = within(table).getAllByRole('row').length;
    expect(rendered).toBeGreaterThan(1);
    expect(rendered).toBeLessThan(100);
    expect(screen.getByRole('status').textContent).toContain('10,000 entries');

    fireEvent.change(screen.getByRole('searchbox', { name: 'Search the catalog' }), { target: { value: 'web01' } });
    await settle(10);
    expect(api.callsOf('catalog:search').at(-1)?.query).toBe('web01');
    expect(within(table).getAllByRole('row')).toHaveLength(2);
    fireEvent.click(within(table).getAllByRole('row')[1]!);
    await settle();
    expect(screen.getByRole('heading', { name: '42.vmdk' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Open disk' })).toBeTruthy();
  });

  it('sorts by a column header, and says what to do when empty', async () => {
    const api = fakeApi({ 'catalog:list': () => ({ rows: [], total: 0 }) });
    const stores = createStores(api, { catalogDebounceMs: 0 });
    render(
      <StoresContext.Provider value={stores}>
        <CatalogView />
      </StoresContext.Provider>,
    );
    await settle();
    expect(screen.getByRole('heading', { name: 'The catalog is empty' })).toBeTruthy();
    expect(stores.catalog.getState().sort).toEqual({ column: 'name', dir: 'asc' });
  });
});
