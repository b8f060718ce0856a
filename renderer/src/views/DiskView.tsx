import { useEffect } from 'react';
import type { JobKind } from '../../../shared/ipc/contract';
import type { DiskInfo } from '../../../shared/types';
import { AllocationMap } from '../components/AllocationMap';
import { BrokenTies, ChainGraph } from '../components/ChainGraph';
import { CheckResults } from '../components/CheckResults';
import { DiskNotes } from '../components/DiskNotes';
import { EmptyState } from '../components/EmptyState';
import { ErrorNote } from '../components/ErrorNote';
import { FilesTab } from '../components/FilesTab';
import { GeometryPanel } from '../components/GeometryPanel';
import { LinkDetail } from '../components/LinkDetail';
import { MissingParentNote } from '../components/MissingParentNote';
import { TabPanel, Tabs, type TabSpec } from '../components/Tabs';
import { VolumeView } from '../components/VolumeView';
import { appText, baseName, cleanText, formatBytes } from '../format';
import { useDisks, useStores, useUi } from '../store';
import type { OpenDisk } from '../store/disks';
import { valueOf } from '../store/loadable';
import type { DiskTab } from '../store/ui';

const DISK_ACTIONS: Array<{ kind: Exclude<JobKind, 'extract' | 'restoreFile' | 'indexFiles'>; label: string; needsParent?: boolean; writes?: boolean }> = [
  { kind: 'convert', label: 'Convert…' },
  { kind: 'export', label: 'Export…' },
  { kind: 'import', label: 'Import…' },
  { kind: 'commit', label: 'Commit…', needsParent: true, writes: true },
  { kind: 'snapshot', label: 'Snapshot…', writes: true },
  { kind: 'extend', label: 'Extend…', writes: true },
  { kind: 'backup', label: 'Back up…' },
];

/** Why a disk action is disabled, as a tooltip. */
function actionHint(info: DiskInfo | null | undefined, noParent: boolean, readOnly = false): string | undefined {
  if (readOnly) return 'Read-only: the disk is inside a VMFS volume image (convert or export it to change a copy).';
  if (info?.missingParent) return 'Locate the missing parent first: the disk’s data is not whole without it.';
  return noParent ? 'This disk has no parent to commit into.' : undefined;
}

function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      {what}
    </p>
  );
}

function Summary({ info }: { info: DiskInfo }) {
  const allocated = info.layers.reduce((sum, l) => sum + l.allocatedBytes, 0);
  return (
    <dl className="summary-strip">
      <div>
        <dt>Capacity</dt>
        <dd>{formatBytes(info.capacityBytes)}</dd>
      </div>
      <div>
        <dt>Kind</dt>
        <dd>{cleanText(info.createType, 64)}</dd>
      </div>
      <div>
        <dt>Links</dt>
        <dd>{info.layers.length}</dd>
      </div>
      <div>
        <dt>Allocated in all links</dt>
        <dd>{formatBytes(allocated)}</dd>
      </div>
      <div>
        <dt>Adapter</dt>
        <dd>{cleanText(info.adapterType, 32)}</dd>
      </div>
      <div>
        <dt>Geometry</dt>
        <dd className="mono">
          {info.geometry.cylinders}/{info.geometry.heads}/{info.geometry.sectors}
        </dd>
      </div>
    </dl>
  );
}

/** The file opened is a data file of another disk: what is shown is that file alone. */
function ExtentOfNote({ owner }: { owner: string }) {
  return (
    <div className="note warning" role="note">
      <span className="icon" aria-hidden="true">
        i
      </span>
      <div className="body">
        This is an extent of <strong>{cleanText(baseName(owner), 255)}</strong> (beside it). Open that disk to see the whole disk and its chain.
      </div>
    </div>
  );
}

function ChainTab({ disk }: { disk: OpenDisk }) {
  const { disks } = useStores();
  const diskId = disk.ref.diskId;
  const info = valueOf(disk.info);
  if (disk.info.status === 'error') {
    const cid = disk.info.error.code === 'E_CID';
    return (
      <ErrorNote error={disk.info.error} title="Could not open the chain">
        {cid && (
          <button type="button" onClick={() => void disks.getState().ignoreCid(diskId)}>
            Open anyway (ignore CID)
          </button>
        )}
        <button type="button" onClick={() => void disks.getState().loadInfo(diskId)}>
          Try again
        </button>
      </ErrorNote>
    );
  }
  if (!info) return <Loading what="Reading the chain…" />;
  // The missing parent is said once, by its own note with Locate parent…, not again in this list.
  const problems = info.problems.filter((p) => !(info.missingParent && p.location === 'parent' && p.message === info.missingParent.message));
  return (
    <div className="stack">
      <Summary info={info} />
      {info.extentOf && <ExtentOfNote owner={info.extentOf} />}
      {info.missingParent && <MissingParentNote diskId={diskId} missing={info.missingParent} />}
      {disk.ignoreCid && (
        <p className="muted">Opened with “ignore CID”: the chain is read although a link’s parentCID does not match its parent.</p>
      )}
      <section className="card" aria-labelledby="chain-title">
        <div className="card-head">
          <h2 id="chain-title">Chain</h2>
          <span className="muted">base on the left; click a link for its descriptor, header and extents</span>
        </div>
        <ChainGraph info={info} selected={disk.selectedLayer} onSelect={(i) => disks.getState().selectLayer(diskId, disk.selectedLayer === i ? null : i)} />
        <BrokenTies info={info} />
        {problems.length > 0 && (
          <ul className="ties" aria-label="Problems found while opening">
            {problems.map((p, i) => (
              <li key={i} className={`note ${p.severity === 'error' ? 'error' : 'warning'}`}>
                <span className="icon" aria-hidden="true">
                  !
                </span>
                <div className="body">
                  {cleanText(appText(p.message))}
                  <div className="where">
                    {cleanText(baseName(p.file), 255)}
                    {p.location ? `, ${cleanText(p.location, 200)}` : ''}
                  </div>
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
      {disk.selectedLayer !== null && <LinkDetail info={info} index={disk.selectedLayer} onClose={() => disks.getState().selectLayer(diskId, null)} />}
    </div>
  );
}

function GeometryTab({ disk }: { disk: OpenDisk }) {
  const { disks } = useStores();
  const diskId = disk.ref.diskId;
  const status = disk.geometry.status;
  useEffect(() => {
    if (status === 'idle') void disks.getState().loadGeometry(diskId);
  }, [disks, diskId, status]);
  if (disk.geometry.status === 'error') {
    return (
      <ErrorNote error={disk.geometry.error} title="Could not read the geometry">
        <button type="button" onClick={() => void disks.getState().loadGeometry(diskId)}>
          Try again
        </button>
      </ErrorNote>
    );
  }
  const report = valueOf(disk.geometry);
  const info = valueOf(disk.info);
  if (!report) return <Loading what="Reading the geometry…" />;
  return <GeometryPanel report={report} capacityBytes={info?.capacityBytes ?? 0} />;
}

function CheckTab({ disk }: { disk: OpenDisk }) {
  const { disks } = useStores();
  const diskId = disk.ref.diskId;
  const status = disk.check.status;
  useEffect(() => {
    if (status === 'idle') void disks.getState().runCheck(diskId);
  }, [disks, diskId, status]);
  const report = valueOf(disk.check);
  return (
    <div className="stack">
      <div className="row">
        <p className="grow muted">Checks every structure of every link: headers, grain directories and tables, extents, CIDs.</p>
        <button type="button" onClick={() => void disks.getState().runCheck(diskId)} disabled={status === 'loading'}>
          {status === 'loading' ? 'Checking…' : 'Check again'}
        </button>
      </div>
      {disk.check.status === 'error' && <ErrorNote error={disk.check.error} title="Could not check the disk" />}
      {!report && status === 'loading' && <Loading what="Checking every link…" />}
      {report && <CheckResults report={report} />}
    </div>
  );
}

/** One open disk: its chain, geometry, allocation map and check, and the actions on it. */
export function DiskView() {
  const { ui, disks } = useStores();
  const selectedId = useDisks((s) => s.selectedId);
  const disk = useDisks((s) => (s.selectedId ? s.byId[s.selectedId] : undefined));
  const tab = useUi((s) => s.tab);

  if (!disk || !selectedId) {
    return (
      <EmptyState
        title="Open a VMware disk"
        className="drop-zone"
        actions={
          <button type="button" className="primary" onClick={() => void disks.getState().openDialog()}>
            Open disk…
          </button>
        }
      >
        <p>
          Drop a <code>.vmdk</code>, <code>.dsk</code> or <code>.REDO</code> file on this window, or choose <strong>Open disk…</strong> (Ctrl+O). Diskchain
          follows its whole chain and never changes the files it reads.
        </p>
      </EmptyState>
    );
  }

  if (disk.ref.volume) return <VolumeView volume={disk.ref} />;
  const info = valueOf(disk.info);
  const check = valueOf(disk.check);
  const broken = info ? info.layers.some((l, i) => i + 1 < info.layers.length && l.parentCid !== null && info.layers[i + 1]!.cid !== null && parseInt(l.parentCid, 16) !== parseInt(info.layers[i + 1]!.cid!, 16)) : false;
  const tabs: TabSpec<DiskTab>[] = [
    { key: 'chain', label: 'Chain', badge: broken || disk.info.status === 'error' ? <span className="tab-badge" aria-label="(has a problem)">!</span> : undefined },
    { key: 'geometry', label: 'Geometry', badge: valueOf(disk.geometry)?.mismatch ? <span className="tab-badge warn" aria-label="(mismatch)">!</span> : undefined },
    { key: 'map', label: 'Allocation map' },
    {
      key: 'check',
      label: 'Check',
      badge: check && check.problems.length > 0 ? <span className={`tab-badge ${check.errors === 0 ? 'warn' : ''}`} aria-label={`(${check.problems.length} problems)`}>{check.problems.length}</span> : undefined,
    },
    { key: 'files', label: 'Files' },
  ];
  const hasParent = info ? info.layers.length > 1 : false;

  return (
    <>
      <div className="main-header">
        <div className="title">
          <h1>{cleanText(disk.ref.name, 200)}</h1>
          <div className="path" title={disk.ref.path}>
            {cleanText(disk.ref.path)}
          </div>
        </div>
        <div className="toolbar" role="toolbar" aria-label="Disk actions">
          {DISK_ACTIONS.map((a) => (
            <button
              key={a.kind}
              type="button"
              disabled={!info || info.missingParent !== undefined || (a.needsParent === true && !hasParent) || (a.writes === true && disk.ref.readOnly === true)}
              title={actionHint(info, a.needsParent === true && !hasParent, a.writes === true && disk.ref.readOnly === true)}
              onClick={() => ui.getState().openDialog({ kind: a.kind, diskId: selectedId })}
            >
              {a.label}
            </button>
          ))}
        </div>
      </div>
      <DiskNotes disk={disk} />
      <Tabs tabs={tabs} selected={tab} onSelect={(t) => ui.getState().setTab(t)} label="Disk views" idPrefix="disk" />
      <TabPanel idPrefix="disk" tab={tab}>
        {tab === 'chain' && <ChainTab disk={disk} />}
        {tab === 'geometry' && <GeometryTab disk={disk} />}
        {tab === 'map' &&
          (info ? (
            <AllocationMap diskId={selectedId} ignoreCid={disk.ignoreCid} capacityBytes={info.capacityBytes} />
          ) : disk.info.status === 'error' ? (
            <ErrorNote error={disk.info.error} title="The map needs the chain to open" />
          ) : (
            <Loading what="Reading the chain…" />
          ))}
        {tab === 'check' && <CheckTab disk={disk} />}
        {tab === 'files' &&
          (info ? (
            <FilesTab key={selectedId} diskId={selectedId} info={info} ignoreCid={disk.ignoreCid} />
          ) : disk.info.status === 'error' ? (
            <ErrorNote error={disk.info.error} title="The files need the chain to open" />
          ) : (
            <Loading what="Reading the chain…" />
          ))}
      </TabPanel>
    </>
  );
}
