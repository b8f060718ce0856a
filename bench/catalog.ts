/**
 * The catalog's benchmark (issue 5): scanning 10,000 small disk files (target < 20 s) and searching
 * a catalog of 100,000 rows (target < 50 ms per query). The file catalog's (issue 11): indexing
 * 1,000,000 guest files (< 60 s, < 150 bytes a row, < 300 MiB) and `catalog find` over 10,000,000
 * (< 100 ms for a name, < 500 ms with a path glob and dates, process start included).
 *
 *   npm run build && node dist/bench/catalog.js [--files 10000] [--rows 100000] [--index-files 1000000] [--find-rows 10000000]
 *
 * `runCatalogBench()` returns the rows for bench/run.ts to print with the others.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Manifest } from '../main/formats/manifest.js';
import { Catalog } from '../main/catalog/catalog.js';
import { openCatalogDb } from '../main/catalog/db.js';
import type { ArchiveRecord, DiskRecord } from '../main/catalog/records.js';
import { FileStore } from '../main/catalog/file-store.js';
import { CatalogStore } from '../main/catalog/store.js';
import type { EntryQuery, FileQuery, IndexSummary } from '../main/catalog/types.js';
import { findFiles } from '../main/catalog/file-find.js';
import { timedRun } from './measure.js';
import { buildCowd } from '../test/fixtures/cowd-builder.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MiB = 1024 * 1024;

export interface CatalogBenchRow {
  task: string;
  /** Seconds for scans; milliseconds (median of runs) for searches; bytes a row; MiB of memory. */
  value: number;
  unit: 's' | 'ms' | 'B/row' | 'MiB';
  detail: string;
  target: string;
}

/**
 * 10,000 small disk files in folders of 100, as an ESX datastore copy or a NAS share holds them:
 * 60 % monolithicSparse, 20 % vmfs descriptors (+ a flat extent each, not counted), 10 % ESX 2
 * raw .dsk and 10 % REDO logs on them.
 */
function makeDiskTree(dir: string, files: number): void {
  const template = path.join(dir, 'template.vmdk');
  execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', template, '1M'], { stdio: 'ignore' });
  const sparse = fs.readFileSync(template);
  fs.rmSync(template);
  const redoTemplate = path.join(dir, 'template.REDO');
  buildCowd(redoTemplate, { capacitySectors: MiB / 512, parentFileName: 'base.dsk', writes: [{ lba: 0, data: Buffer.alloc(512, 1) }] });
  const redo = fs.readFileSync(redoTemplate);
  fs.rmSync(redoTemplate);
  for (let n = 0; n < files; n++) {
    const folder = path.join(dir, 'datastore', `vm${String(Math.floor(n / 100)).padStart(4, '0')}`);
    const i = n % 100;
    if (i === 0) fs.mkdirSync(folder, { recursive: true });
    if (i < 60) fs.writeFileSync(path.join(folder, `disk${i}.vmdk`), sparse);
    else if (i < 80) {
      fs.writeFileSync(path.join(folder, `vmfs${i}-flat.vmdk`), '');
      fs.truncateSync(path.join(folder, `vmfs${i}-flat.vmdk`), MiB);
      fs.writeFileSync(
        path.join(folder, `vmfs${i}.vmdk`),
        `# Disk DescriptorFile\nversion=1\nCID=1234567${i % 10}\nparentCID=ffffffff\ncreateType="vmfs"\n\nRW 2048 VMFS "vmfs${i}-flat.vmdk"\n\nddb.adapterType = "lsilogic"\n`,
      );
    } else if (i < 90) {
      const name = i === 80 ? 'base.dsk' : `raw${i}.dsk`;
      fs.writeFileSync(path.join(folder, name), '');
      fs.truncateSync(path.join(folder, name), MiB);
    } else fs.writeFileSync(path.join(folder, `base${i}.dsk.REDO`), redo);
  }
}

async function benchScan(dir: string, files: number): Promise<CatalogBenchRow[]> {
  makeDiskTree(dir, files);
  const tree = path.join(dir, 'datastore');
  const catalog = Catalog.open(path.join(dir, 'scan.db'));
  try {
    let started = process.hrtime.bigint();
    const first = await catalog.scan([tree]);
    const firstSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const read = first.disks.added;
    if (read !== files) throw new Error(`scan found ${read} disks, expected ${files} (${first.errorCount} errors)`);
    started = process.hrtime.bigint();
    const again = await catalog.scan([tree]);
    const againSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (again.disks.unchanged !== files) throw new Error(`rescan re-read ${files - again.disks.unchanged} unchanged disks`);
    started = process.hrtime.bigint();
    execFileSync(process.execPath, [path.join(ROOT, 'bin/diskchain.js'), 'catalog', '--db', path.join(dir, 'cli.db'), 'scan', tree], { stdio: 'ignore' });
    const cliSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    return [
      { task: `scan ${files} small disk files (new catalog)`, value: firstSeconds, unit: 's', detail: `${Math.round(files / firstSeconds)} files/s`, target: '< 20 s' },
      { task: `rescan, nothing changed`, value: againSeconds, unit: 's', detail: `${Math.round(files / againSeconds)} files/s`, target: '' },
      { task: `diskchain catalog scan (CLI, whole process)`, value: cliSeconds, unit: 's', detail: '', target: '< 20 s' },
    ];
  } finally {
    catalog.close();
  }
}

const KINDS = ['monolithicSparse', 'vmfs', 'vmfsThin', 'twoGbMaxExtentSparse', 'cowd', 'raw', 'streamOptimized', 'seSparse', 'vmfsSparse'];
const YEAR_MS = 365 * 24 * 3600 * 1000;
const EPOCH_2015 = Date.UTC(2015, 0, 1);

/** Deterministic pseudo-random numbers, so every run searches the same catalog. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** 100,000 rows written through the store (as a scan writes them): 90 % disks of 2,000 VMs, 10 % archives. */
export function fillCatalog(file: string, rows: number): void {
  const db = openCatalogDb(file);
  const store = new CatalogStore(db);
  const random = rng(42);
  const now = Date.now();
  db.transaction(() => {
    const scanId = store.startScan(['/bench'], now);
    for (let n = 0; n < rows; n++) {
      const vm = `${['web', 'db', 'mail', 'build', 'test', 'files', 'dc', 'proxy'][n % 8]}${String(Math.floor(random() * 250)).padStart(3, '0')}`;
      const capacityBytes = (1 + Math.floor(random() * 512)) * 1024 * MiB;
      const dateMs = EPOCH_2015 + Math.floor(random() * 10 * YEAR_MS);
      if (n % 10 === 9) store.write(archiveRecord(n, vm, capacityBytes, dateMs, random), null, scanId, now, vm);
      else store.write(diskRecord(n, vm, capacityBytes, dateMs, random), null, scanId, now, vm);
    }
    store.finishScan(scanId, now);
  })();
  // A few hundred went missing since.
  db.prepare("UPDATE entries SET status = 'missing', missing_since_ms = ? WHERE id % 331 = 0").run(now);
  store.optimize(); // as every scan does at its end
  db.close();
}

function diskRecord(n: number, vm: string, capacityBytes: number, dateMs: number, random: () => number): DiskRecord {
  const snapshot = n % 3 === 0 ? `-${String(n % 7).padStart(6, '0')}` : '';
  const file = `/mnt/nas/share${n % 20}/${vm}/${vm}${snapshot}.vmdk`;
  const kind = KINDS[Math.floor(random() * KINDS.length)]!;
  return {
    type: 'disk',
    path: `${file}.${n}`,
    name: path.basename(file),
    kind,
    capacityBytes,
    allocatedBytes: Math.floor(capacityBytes * random()),
    sizeBytes: Math.floor(capacityBytes * random()),
    mtimeMs: dateMs,
    dateMs,
    error: null,
    // A few in a hundred lost data or their parent, as on a real share.
    health: n % 97 === 0 ? 'damaged' : n % 89 === 0 ? 'chain-broken' : 'ok',
    note: null,
    files: [{ path: `${file}.${n}`, role: 'self', bytes: 1000, mtimeMs: dateMs }],
    detail: {
      adapterType: 'lsilogic',
      geometry: { cylinders: Math.floor(capacityBytes / 512 / (255 * 63)), heads: 255, sectors: 63 },
      geometrySource: 'descriptor',
      cid: 'fffffffe',
      parentCid: 'ffffffff',
      parentPath: null,
      chain: [`${file}.${n}`],
      problems: [],
    },
  };
}

function archiveRecord(n: number, vm: string, capacityBytes: number, dateMs: number, random: () => number): ArchiveRecord {
  const createdAt = new Date(dateMs).toISOString();
  const dir = `/mnt/nas/backups/${vm}-${createdAt.slice(0, 10)}-${n}`;
  const kind = KINDS[Math.floor(random() * KINDS.length)]!;
  const sha = 'ab'.repeat(32);
  const manifest: Manifest = {
    format: 'diskchain-archive',
    version: 1,
    createdAt,
    tool: { name: 'diskchain', version: '0.1.0' },
    host: 'bench',
    mode: 'flatten',
    segmentBytes: 2048 * MiB,
    source: { kind: 'vmx', path: `/vmfs/volumes/ds1/${vm}/${vm}.vmx`, vmName: vm },
    vm: { vmx: `${vm}.vmx`, nvram: null, displayName: vm },
    forcedPastLocks: false,
    disks: [
      {
        device: 'scsi0:0',
        vmxFileName: `${vm}.vmdk`,
        sourcePath: `/vmfs/volumes/ds1/${vm}/${vm}.vmdk`,
        sourceLinks: [{ path: `/vmfs/volumes/ds1/${vm}/${vm}.vmdk`, kind, extents: [] }],
        name: vm,
        kind,
        baseKind: kind,
        restoreKind: 'twoGbMaxExtentSparse',
        capacityBytes,
        geometry: { cylinders: 1024, heads: 255, sectors: 63 },
        adapterType: 'lsilogic',
        contentSha256: sha,
        links: [
          {
            sourcePath: `/vmfs/volumes/ds1/${vm}/${vm}.vmdk`,
            kind,
            capacityBytes,
            cid: '12345678',
            parentCid: 'ffffffff',
            descriptor: `${vm}.vmdk`,
            segments: [`${vm}-s001.vmdk`],
            parent: null,
            contentSha256: sha,
            storedBytes: 0,
          },
        ],
      },
    ],
    files: [
      { name: `${vm}.vmx`, role: 'vmx', bytes: 3000, sha256: sha },
      { name: `${vm}.vmdk`, role: 'descriptor', bytes: 500, sha256: sha },
      { name: `${vm}-s001.vmdk`, role: 'segment', bytes: capacityBytes / 4, sha256: sha },
    ],
  };
  return {
    type: 'archive',
    path: dir,
    name: path.basename(dir),
    kind: 'archive',
    vmName: vm,
    capacityBytes,
    allocatedBytes: null,
    sizeBytes: capacityBytes / 4 + 3500,
    mtimeMs: dateMs,
    dateMs,
    error: null,
    health: 'unverified',
    note: null,
    files: [{ path: `${dir}/manifest.json`, role: 'self', bytes: 4000, mtimeMs: dateMs }],
    manifestText: JSON.stringify(manifest),
    manifest,
    // The store weighs these with the verify: one archive in ten lost its segment.
    fileStats: new Map(manifest.files.map((f, i) => [f.name, n % 100 === 49 && i === 2 ? null : { bytes: f.bytes, mtimeMs: dateMs }])),
  };
}

const QUERIES: Array<[string, EntryQuery]> = [
  ['list, first page', {}],
  ['list, page at offset 50,000', { offset: 50_000 }],
  ['words matching most rows ("vmdk")', { text: 'vmdk' }],
  ['words matching one VM ("web042")', { text: 'web042' }],
  ['two words ("mail" "000003")', { text: 'mail 000003' }],
  ['words matching nothing', { text: 'zzzqqq' }],
  ['--vm db17 (prefix)', { vm: 'db17' }],
  ['--kind vmfsThin (disks and archives holding one)', { kind: 'vmfsThin' }],
  ['--kind archive', { kind: 'archive' }],
  ['--since/--until (one month)', { since: '2019-03-01', until: '2019-03-31' }],
  ['--min-size 500G', { minCapacityBytes: 500 * 1024 * MiB }],
  ['--min-size larger than any (scans all)', { minCapacityBytes: 1024 ** 4 }],
  ['--status missing', { status: 'missing' }],
  ['--status damaged', { status: 'damaged' }],
  ['--status missing-file', { status: 'missing-file' }],
  ['words + kind + since + size', { text: 'web', kind: 'vmfs', since: '2020-01-01', minCapacityBytes: 100 * 1024 * MiB }],
  ['worst: a word in most rows + a size no row has', { text: 'vmdk', minCapacityBytes: 1024 ** 4 }],
  ['show (one entry with detail)', {}],
];

function benchSearch(dir: string, rows: number): CatalogBenchRow[] {
  const file = path.join(dir, 'search.db');
  let started = process.hrtime.bigint();
  fillCatalog(file, rows);
  const fillSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const out: CatalogBenchRow[] = [
    { task: `write ${rows} rows through the store`, value: fillSeconds, unit: 's', detail: `${Math.round(rows / fillSeconds)} rows/s`, target: '' },
  ];
  const catalog = Catalog.open(file);
  try {
    for (const [name, query] of QUERIES) {
      const run = (): number => (name.startsWith('show') ? (catalog.show(rows / 2), 1) : catalog.search(query).entries.length);
      run(); // warm the page cache and the statement
      const times: number[] = [];
      let found = 0;
      for (let i = 0; i < 21; i++) {
        started = process.hrtime.bigint();
        found = run();
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      times.sort((a, b) => a - b);
      out.push({
        task: `search: ${name}`,
        value: times[10]!,
        unit: 'ms',
        detail: `max ${times[20]!.toFixed(1)} ms, ${found} on the page`,
        target: '< 50 ms',
      });
    }
  } finally {
    catalog.close();
  }
  return out;
}

export async function runCatalogBench(files = 10_000, rows = 100_000, indexFiles = 1_000_000, findRows = 10_000_000): Promise<CatalogBenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-catalog-bench-'));
  try {
    return [
      ...(await benchScan(dir, files)),
      ...benchSearch(dir, rows),
      ...(await benchFileIndex(dir, indexFiles)),
      ...benchFileFind(findRows),
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A row's value as the tables print it. */
export function formatValue(r: CatalogBenchRow): string {
  if (r.unit === 's') return `${r.value.toFixed(2)} s`;
  if (r.unit === 'ms') return `${r.value.toFixed(2)} ms`;
  return `${Math.round(r.value)} ${r.unit}`;
}

/** Built once and kept between runs (the 100,000-file volumes and the 10,000,000-row catalog take minutes). */
const CACHE = path.join(os.tmpdir(), 'diskchain-bench-cache', 'file-catalog-v1');
const VOLUME_FILES = 100_000;
/** Distinct volumes; the other disks are hard links to them, as successive backups of a quiet VM mostly are. */
const DISTINCT_VOLUMES = 2;

/**
 * One ext4 volume of 100,000 files (sparse sizes, 1,000 folders of 100) built with mkfs.ext4 -d,
 * as a monolithicSparse VMDK; cached.
 */
function ext4Volume(n: number): string {
  const vmdk = path.join(CACHE, `volume${n}.vmdk`);
  if (fs.existsSync(vmdk)) return vmdk;
  fs.mkdirSync(CACHE, { recursive: true });
  const src = path.join(CACHE, `src${n}`);
  fs.rmSync(src, { recursive: true, force: true });
  const random = rng(1000 + n);
  for (let f = 0; f < VOLUME_FILES; f++) {
    const folder = path.join(src, `srv${n}`, `app${Math.floor(f / 10_000)}`, `data${Math.floor(f / 100) % 100}`);
    if (f % 100 === 0) fs.mkdirSync(folder, { recursive: true });
    const file = path.join(folder, `file${f}-${WORDS[f % WORDS.length]}.${EXTENSIONS[f % EXTENSIONS.length]}`);
    fs.writeFileSync(file, '');
    fs.truncateSync(file, Math.floor(random() * 4 * MiB));
  }
  const raw = path.join(CACHE, `volume${n}.img`);
  fs.writeFileSync(raw, '');
  fs.truncateSync(raw, 512 * MiB);
  execFileSync('mkfs.ext4', ['-q', '-F', '-b', '4096', '-N', String(VOLUME_FILES + 20_000), '-L', `bench${n}`, '-d', src, raw], { stdio: 'ignore' });
  execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'vmdk', raw, `${vmdk}.part`], { stdio: 'ignore' });
  fs.renameSync(`${vmdk}.part`, vmdk);
  fs.rmSync(raw);
  fs.rmSync(src, { recursive: true, force: true });
  return vmdk;
}

const WORDS = ['alpha', 'report', 'invoice', 'backup', 'config', 'photo', 'notes', 'access', 'error', 'cache'];
const EXTENSIONS = ['txt', 'log', 'conf', 'jpg', 'pdf', 'dat', 'json'];

/** Runs the built CLI as a user does: wall seconds and peak RSS (MiB) of the whole process (measure.ts). */
function timedCli(args: string[]): { seconds: number; rssMiB: number; stdout: string } {
  const r = timedRun([process.execPath, path.join(ROOT, 'bin/diskchain.js'), ...args], true);
  return { seconds: r.wall, rssMiB: r.rssMiB, stdout: r.stdout };
}

/** `catalog scan` of disks that hold `files` guest files in all, then `catalog index --all` as a user runs it. */
async function benchFileIndex(dir: string, files: number): Promise<CatalogBenchRow[]> {
  const disks = Math.max(1, Math.round(files / VOLUME_FILES));
  const tree = path.join(dir, 'index-disks');
  for (let d = 0; d < disks; d++) {
    const folder = path.join(tree, `vm${d}`);
    fs.mkdirSync(folder, { recursive: true });
    fs.linkSync(ext4Volume(d % DISTINCT_VOLUMES), path.join(folder, `disk${d}.vmdk`));
  }
  const db = path.join(dir, 'index.db');
  const catalog = Catalog.open(db);
  try {
    await catalog.scan([tree]);
  } finally {
    catalog.close();
  }
  const first = timedCli(['catalog', '--db', db, 'index', '--json', '1']);
  const firstBytes = dbBytes(db);
  const run = timedCli(['catalog', '--db', db, 'index', '--json', '--all']);
  const summary = JSON.parse(run.stdout) as IndexSummary;
  const total = (JSON.parse(first.stdout) as IndexSummary).files + summary.files;
  const bytes = dbBytes(db);
  const again = timedCli(['catalog', '--db', db, 'index', '--all']);
  return [
    { task: `index ${total.toLocaleString('en')} guest files (${disks} ext4 volumes)`, value: first.seconds + run.seconds, unit: 's', detail: `${Math.round(total / (first.seconds + run.seconds))} files/s`, target: '< 60 s' },
    { task: 'index: catalog bytes a file row (first volume, all names new)', value: firstBytes / VOLUME_FILES, unit: 'B/row', detail: '', target: '< 150' },
    { task: `index: catalog bytes a file row (${disks} volumes)`, value: bytes / total, unit: 'B/row', detail: `${(bytes / MiB).toFixed(0)} MiB`, target: '< 150' },
    { task: 'index: peak RSS of diskchain catalog index', value: Math.max(first.rssMiB, run.rssMiB), unit: 'MiB', detail: '', target: '< 300' },
    { task: 'index again, nothing changed (CLI)', value: again.seconds, unit: 's', detail: '', target: '' },
  ];
}

/** The database and its WAL, checkpointed. */
function dbBytes(file: string): number {
  const db = openCatalogDb(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return fs.statSync(file).size;
}

const FIND_VMS = 10;

/**
 * A catalog of `rows` file rows written through the file store: 10 VMs of rows/100 files each, every
 * one backed up 10 times (a file in one backup in five changed size); cached between runs.
 */
function fileCatalog(rows: number): string {
  const file = path.join(CACHE, `find-${rows}.db`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(CACHE, { recursive: true });
  const part = `${file}.part`;
  for (const f of [part, `${part}-wal`, `${part}-shm`]) fs.rmSync(f, { force: true });
  const db = openCatalogDb(part);
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const store = new CatalogStore(db);
  const files = new FileStore(db);
  const perVolume = Math.max(1, Math.floor(rows / FIND_VMS / 10));
  const random = rng(7);
  const now = Date.now();
  const scanId = db.transaction(() => store.startScan(['/bench'], now))();
  for (let vm = 0; vm < FIND_VMS; vm++) {
    for (let backup = 0; backup < 10; backup++) {
      const dateMs = Date.UTC(2024, backup, 1);
      const n = vm * 10 + backup;
      db.transaction(() => {
        store.write(archiveRecord(n, `vm${vm}`, 100 * 1024 * MiB, dateMs, random), null, scanId, now, `vm${vm}`);
      })();
      const entryId = store.known(`/mnt/nas/backups/vm${vm}-${new Date(dateMs).toISOString().slice(0, 10)}-${n}`)!.id;
      const volumeId = files.startVolume({ entryId, disk: `vm${vm}`, link: 0, volume: '1', fileSystem: 'ext4', label: null, sourceKey: 'bench', now });
      const batch = db.transaction((from: number, to: number) => {
        for (let f = from; f < to; f++) {
          const changed = (f + backup) % 5 === 0;
          files.addRow(volumeId, {
            dir: `/srv/vm${vm}/app${Math.floor(f / 10_000)}/data${Math.floor(f / 100) % 100}`,
            name: `file${f}-${WORDS[f % WORDS.length]}.${EXTENSIONS[f % EXTENSIONS.length]}`,
            kind: 'file',
            size: changed ? f * 7 + backup : f * 7,
            mtimeMs: changed ? dateMs - 3_600_000 : Date.UTC(2023, 0, 1) + f,
            ctimeMs: null,
          });
        }
      });
      for (let f = 0; f < perVolume; f += 50_000) batch(f, Math.min(perVolume, f + 50_000));
      files.finishVolume(volumeId, perVolume, null);
      files.commitEntry(entryId);
    }
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  fs.renameSync(part, file);
  return file;
}

/** `catalog find` as a user runs it (a whole process each time), median of 5 runs. */
function benchFileFind(rows: number): CatalogBenchRow[] {
  const started = process.hrtime.bigint();
  const db = fileCatalog(rows);
  const buildSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const perVolume = Math.floor(rows / FIND_VMS / 10);
  const f = Math.floor(perVolume / 3);
  const name = `file${f}-${WORDS[f % WORDS.length]}.${EXTENSIONS[f % EXTENSIONS.length]}`;
  const cases: Array<[string, string[], string]> = [
    ['a name', [name], '< 100 ms'],
    ['a name, --path glob, --since/--until', [name, '--path', '/srv/vm3/app*/*', '--since', '2024-03-01', '--until', '2024-09-30'], '< 500 ms'],
    ['the start of a name ("file12345")', ['file12345'], ''],
    ['a glob ("file1234?-*.conf") and a folder glob', ['file1234?-*.conf', '--path', '/srv/vm1/*'], ''],
  ];
  const out: CatalogBenchRow[] = [{ task: `find: build a ${(rows / 1e6).toFixed(0)}M-row file catalog (cached)`, value: buildSeconds, unit: 's', detail: `${(fs.statSync(db).size / MiB).toFixed(0)} MiB`, target: '' }];
  const baseline = median(5, () => timedCli(['--version']).seconds * 1000);
  let rss = 0;
  for (const [label, args, target] of cases) {
    timedCli(['catalog', '--db', db, 'find', ...args]); // warm the page cache
    let found = 0;
    const ms = median(5, () => {
      const r = timedCli(['catalog', '--db', db, 'find', '--json', ...args]);
      rss = Math.max(rss, r.rssMiB);
      found = (JSON.parse(r.stdout) as { versions: unknown[] }).versions.length;
      return r.seconds * 1000;
    });
    out.push({ task: `find over ${(rows / 1e6).toFixed(0)}M files: ${label} (CLI, whole process)`, value: ms, unit: 'ms', detail: `${found} versions; diskchain --version takes ${baseline.toFixed(0)} ms here`, target });
  }
  // The query alone, in this process: what the process start above is added to.
  const catalog = openCatalogDb(db);
  try {
    for (const [label, args] of cases) {
      const query = findQuery(args);
      findFiles(catalog, query);
      const ms = median(21, () => {
        const t = process.hrtime.bigint();
        findFiles(catalog, query);
        return Number(process.hrtime.bigint() - t) / 1e6;
      });
      out.push({ task: `find over ${(rows / 1e6).toFixed(0)}M files: ${label} (query only)`, value: ms, unit: 'ms', detail: '', target: '' });
    }
  } finally {
    catalog.close();
  }
  out.push({ task: 'find: peak RSS of diskchain catalog find', value: rss, unit: 'MiB', detail: '', target: '< 300' });
  return out;
}

/** The CLI arguments of a case as the query `catalog find` makes of them. */
function findQuery(args: string[]): FileQuery {
  const query: FileQuery = { pattern: args[0]! };
  for (let i = 1; i < args.length; i += 2) {
    const value = args[i + 1]!;
    if (args[i] === '--path') query.path = value;
    else if (args[i] === '--since') query.since = value;
    else if (args[i] === '--until') query.until = value;
  }
  return query;
}

function median(runs: number, measure: () => number): number {
  const values = Array.from({ length: runs }, measure).sort((a, b) => a - b);
  return values[Math.floor(runs / 2)]!;
}

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`Diskchain catalog bench — ${os.cpus().length} × ${cpu}, Node ${process.version}, load ${os.loadavg()[0]!.toFixed(1)}, ${new Date().toISOString().slice(0, 10)}`);
  const rows = await runCatalogBench(option('--files', 10_000), option('--rows', 100_000), option('--index-files', 1_000_000), option('--find-rows', 10_000_000));
  for (const r of rows) {
    const value = formatValue(r);
    console.log(`${r.task.padEnd(58)} ${value.padStart(10)}  ${r.target.padEnd(8)} ${r.detail}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
