import { useEffect, useId, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { Preflight, Target, WireError } from '../../../shared/ipc/contract';
import { ADAPTERS, DISK_KINDS, type Adapter, type DiskKind } from '../../../shared/jobs';
import { toWireError } from '../api';
import { baseName, cleanText, formatBytes } from '../format';
import { useDisks, useStores, useUi } from '../store';
import { valueOf } from '../store/loadable';
import type { DialogRequest } from '../store/ui';
import { ACTIONS, buildRequest, diskStem, emptyForm, RESTORE_KINDS, SPLIT_KINDS, type ActionForm, type RestoreKind } from './actions';
import { ErrorNote } from './ErrorNote';

const KIND_LABELS: Record<DiskKind, string> = {
  monolithicSparse: 'monolithicSparse — one growable file (Workstation)',
  twoGbMaxExtentSparse: 'twoGbMaxExtentSparse — growable, 2 GB pieces',
  monolithicFlat: 'monolithicFlat — one preallocated file',
  twoGbMaxExtentFlat: 'twoGbMaxExtentFlat — preallocated, 2 GB pieces',
  streamOptimized: 'streamOptimized — compressed (OVA/OVF)',
  vmfs: 'vmfs — ESX descriptor + -flat.vmdk',
  vmfsThin: 'vmfsThin — ESX, -flat.vmdk written sparse',
  raw: 'raw — a plain image (.img)',
};

function Field({ label, id, help, error, children }: { label: string; id: string; help?: ReactNode; error?: string | null; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      {error ? (
        <span className="error-text" id={`${id}-error`}>
          {error}
        </span>
      ) : (
        help && <span className="help">{help}</span>
      )}
    </div>
  );
}

function Check({ id, label, checked, onChange, help }: { id: string; label: string; checked: boolean; onChange: (v: boolean) => void; help?: string }) {
  return (
    <div className="check-field">
      <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} />
      <div>
        <label htmlFor={id}>{label}</label>
        {help && <div className="help muted">{help}</div>}
      </div>
    </div>
  );
}

/** A chosen output or input place: its path (read only) and a button that asks main's dialog. */
function PathPicker({
  id,
  value,
  placeholder,
  onChoose,
  invalid,
  buttonLabel,
}: {
  id: string;
  value: Target | null;
  placeholder: string;
  onChoose: () => void;
  invalid: boolean;
  buttonLabel: string;
}) {
  return (
    <div className="path-picker">
      <input
        id={id}
        type="text"
        readOnly
        value={value ? value.path : ''}
        placeholder={placeholder}
        aria-invalid={invalid}
        aria-describedby={invalid ? `${id}-error` : undefined}
        onClick={onChoose}
        className="mono"
      />
      <button type="button" onClick={onChoose}>
        {buttonLabel}
      </button>
    </div>
  );
}

function PreflightLine({ preflight, error, pending }: { preflight: Preflight | null; error: WireError | null; pending: boolean }) {
  if (error) return <ErrorNote error={error} title="Could not check the free space" />;
  if (!preflight) return <p className="preflight muted">{pending ? 'Checking free space…' : 'Free space is checked once the output is chosen.'}</p>;
  const text = `Needs about ${formatBytes(preflight.requiredBytes)} in ${preflight.folder}; ${preflight.availableBytes === null ? 'free space unknown' : `${formatBytes(preflight.availableBytes)} free`}.`;
  if (!preflight.enough) {
    return (
      <div className="note error" role="alert">
        <span className="icon" aria-hidden="true">
          !
        </span>
        <div className="body">
          <strong>Not enough free space.</strong> {cleanText(text)}
          <div className="fix">Free some space there or choose another place. ({cleanText(preflight.basis, 300)})</div>
        </div>
      </div>
    );
  }
  return (
    <div className="note ok" role="status">
      <span className="icon" aria-hidden="true">
        ✓
      </span>
      <div className="body">
        <strong>Enough space.</strong> {cleanText(text)} <span className="muted">({cleanText(preflight.basis, 300)})</span>
      </div>
    </div>
  );
}

/** The dialog of one action: its options, a free-space preflight, then Start → a job in the jobs panel. */
function ActionDialogBody({ request, onClose }: { request: DialogRequest; onClose: () => void }) {
  const { api, jobs, ui } = useStores();
  const disk = useDisks((s) => (request.diskId ? s.byId[request.diskId] : undefined));
  const info = valueOf(disk?.info);
  const action = ACTIONS[request.kind];
  const [form, setForm] = useState<ActionForm>(() => emptyForm(disk?.ignoreCid ?? false));
  const [touched, setTouched] = useState(false);
  const [preflight, setPreflight] = useState<Preflight | null>(null);
  const [preflightError, setPreflightError] = useState<WireError | null>(null);
  const [preflightPending, setPreflightPending] = useState(false);
  const [startError, setStartError] = useState<WireError | null>(null);
  const [starting, setStarting] = useState(false);
  const [chooseError, setChooseError] = useState<WireError | null>(null);
  const id = useId();
  const set = <K extends keyof ActionForm>(key: K, value: ActionForm[K]): void => setForm((f) => ({ ...f, [key]: value }));

  const diskName = disk ? cleanText(disk.ref.name, 200) : '';
  const subject = {
    kind: request.kind,
    ...(request.diskId ? { diskId: request.diskId } : {}),
    ...(request.catalogId !== undefined ? { catalogId: request.catalogId } : {}),
    ...(info ? { capacityBytes: info.capacityBytes } : {}),
  };
  const built = buildRequest(subject, form);
  const requestKey = built.ok ? JSON.stringify(built.request) : '';

  useEffect(() => {
    setPreflight(null);
    setPreflightError(null);
    if (!built.ok) return;
    const req = built.request;
    let live = true;
    setPreflightPending(true);
    const timer = setTimeout(() => {
      api
        .invoke('jobs:preflight', { request: req })
        .then((p) => live && setPreflight(p))
        .catch((e: unknown) => live && setPreflightError(toWireError(e)))
        .finally(() => live && setPreflightPending(false));
    }, 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
    // requestKey stands for built.request: the same request is not checked twice.
  }, [api, requestKey]);

  const chooseTarget = async (): Promise<void> => {
    setChooseError(null);
    try {
      const stem = disk ? diskStem(disk.ref.path) : 'disk';
      const target =
        action.output === 'folder'
          ? await api.invoke('targets:chooseFolder', { title: `${action.verb}: choose the output folder` })
          : await api.invoke('targets:chooseFile', {
              mode: 'save',
              suggestedName: request.kind === 'convert' && form.to === 'raw' ? `${stem}.img` : `${stem}.vmdk`,
              filter: request.kind === 'convert' && form.to === 'raw' ? 'raw' : 'vmdk',
              title: `${action.verb}: choose the output file`,
            });
      if (target) set('target', target);
    } catch (e) {
      setChooseError(toWireError(e));
    }
  };
  const chooseVmx = async (): Promise<void> => {
    setChooseError(null);
    try {
      const target = await api.invoke('targets:chooseFile', { mode: 'open', filter: 'vmx', title: 'Back up: choose the VM’s .vmx file' });
      if (target) set('vmx', target);
    } catch (e) {
      setChooseError(toWireError(e));
    }
  };
  const chooseArchive = async (): Promise<void> => {
    setChooseError(null);
    try {
      const target = await api.invoke('targets:chooseFolder', { title: 'Restore: choose the archive folder (with manifest.json)' });
      if (target) set('archiveFolder', target);
    } catch (e) {
      setChooseError(toWireError(e));
    }
  };

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setTouched(true);
    if (!built.ok || preflight?.enough === false) return;
    setStarting(true);
    setStartError(null);
    try {
      await jobs.getState().start(built.request);
      ui.getState().setJobsOpen(true);
      onClose();
    } catch (err) {
      setStartError(toWireError(err));
    } finally {
      setStarting(false);
    }
  };

  const fieldError = (field: keyof ActionForm): string | null => (touched && !built.ok && built.field === field ? built.message : null);
  const parent = info && info.layers.length > 1 ? baseName(info.layers[1]!.path) : null;

  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <header>
        <h2 id="action-dialog-title">
          {action.verb}
          {diskName && ` ${diskName}`}
          {request.kind === 'restore' && request.catalogName && ` ${cleanText(request.catalogName, 200)}`}
        </h2>
        <p>{action.description}</p>
        {request.kind === 'commit' && info && (
          <p>
            {parent ? (
              <>
                <strong>{diskName}</strong> will be folded into <strong>{cleanText(parent, 200)}</strong> and then removed.
              </>
            ) : (
              <strong>This disk has no parent: there is nothing to commit it into.</strong>
            )}
          </p>
        )}
      </header>
      <div className="fields">
        {request.kind === 'backup' && (
          <fieldset className="field">
            <legend className="label">What to back up</legend>
            <div className="check-field">
              <input id={`${id}-src-disk`} type="radio" name="backup-source" checked={form.backupSource === 'disk'} onChange={() => set('backupSource', 'disk')} disabled={!request.diskId} />
              <label htmlFor={`${id}-src-disk`}>This disk{diskName ? ` (${diskName})` : ''}, its chain read through</label>
            </div>
            <div className="check-field">
              <input id={`${id}-src-vm`} type="radio" name="backup-source" checked={form.backupSource === 'vm'} onChange={() => set('backupSource', 'vm')} />
              <label htmlFor={`${id}-src-vm`}>A whole VM: its .vmx, .nvram and every disk</label>
            </div>
            {form.backupSource === 'vm' && (
              <Field label="VM configuration (.vmx)" id={`${id}-vmx`} error={fieldError('vmx')}>
                <PathPicker id={`${id}-vmx`} value={form.vmx} placeholder="No .vmx chosen" onChoose={() => void chooseVmx()} invalid={fieldError('vmx') !== null} buttonLabel="Choose .vmx…" />
              </Field>
            )}
          </fieldset>
        )}

        {request.kind === 'restore' && request.catalogId === undefined && (
          <Field label="Archive folder" id={`${id}-archive`} error={fieldError('archiveFolder')} help="The folder that holds manifest.json.">
            <PathPicker
              id={`${id}-archive`}
              value={form.archiveFolder}
              placeholder="No archive chosen"
              onChoose={() => void chooseArchive()}
              invalid={fieldError('archiveFolder') !== null}
              buttonLabel="Choose archive…"
            />
          </Field>
        )}

        {request.kind === 'convert' && (
          <Field label="Output kind" id={`${id}-to`}>
            <select id={`${id}-to`} value={form.to} onChange={(e) => set('to', e.target.value as DiskKind)}>
              {DISK_KINDS.map((k) => (
                <option key={k} value={k}>
                  {KIND_LABELS[k]}
                </option>
              ))}
            </select>
          </Field>
        )}

        {action.output && (
          <Field
            label={action.output === 'folder' ? 'Output folder' : 'Output file'}
            id={`${id}-target`}
            error={fieldError('target')}
            help={request.kind === 'export' ? 'NAME.vmdk and NAME-s001.vmdk… are written into it.' : undefined}
          >
            <PathPicker
              id={`${id}-target`}
              value={form.target}
              placeholder={action.output === 'folder' ? 'No folder chosen' : 'No file chosen'}
              onChoose={() => void chooseTarget()}
              invalid={fieldError('target') !== null}
              buttonLabel={action.output === 'folder' ? 'Choose folder…' : 'Choose file…'}
            />
          </Field>
        )}
        {chooseError && <ErrorNote error={chooseError} title="Could not choose" />}

        {(request.kind === 'convert' || request.kind === 'import') && (
          <Field label="Adapter" id={`${id}-adapter`} help="Written to ddb.adapterType; the geometry follows it.">
            <select id={`${id}-adapter`} value={form.adapter} onChange={(e) => set('adapter', e.target.value as Adapter | '')}>
              <option value="">Keep the source’s adapter</option>
              {ADAPTERS.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </Field>
        )}

        {((request.kind === 'convert' && SPLIT_KINDS.has(form.to)) || request.kind === 'export') && (
          <Field label="Segment size" id={`${id}-segment`} error={fieldError('segmentSize')} help="Largest extent file; default 2047M, at most 2G.">
            <input id={`${id}-segment`} type="text" inputMode="numeric" placeholder="2047M" value={form.segmentSize} onChange={(e) => set('segmentSize', e.target.value)} aria-invalid={fieldError('segmentSize') !== null} />
          </Field>
        )}

        {request.kind === 'convert' && form.to === 'streamOptimized' && (
          <Field label="Compression level" id={`${id}-level`} error={fieldError('compressLevel')} help="1 is fastest, 9 smallest; default 6.">
            <input id={`${id}-level`} type="number" min={1} max={9} placeholder="6" value={form.compressLevel} onChange={(e) => set('compressLevel', e.target.value)} />
          </Field>
        )}

        {request.kind === 'import' && (
          <Check id={`${id}-thin`} label="Thin (vmfsThin)" checked={form.thin} onChange={(v) => set('thin', v)} help="Write the -flat.vmdk sparse instead of fully allocated." />
        )}

        {request.kind === 'extend' && (
          <Field label="New capacity" id={`${id}-size`} error={fieldError('size')} help={info ? `Now ${formatBytes(info.capacityBytes)}. Type e.g. 40G or 20480M.` : 'e.g. 40G'}>
            <input id={`${id}-size`} type="text" value={form.size} onChange={(e) => set('size', e.target.value)} aria-invalid={fieldError('size') !== null} autoFocus />
          </Field>
        )}

        {request.kind === 'restore' && (
          <Field label="Restore as" id={`${id}-restore-to`}>
            <select id={`${id}-restore-to`} value={form.restoreTo} onChange={(e) => set('restoreTo', e.target.value as RestoreKind | '')}>
              <option value="">The kind each disk had</option>
              {RESTORE_KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </Field>
        )}

        {request.kind === 'backup' && (
          <Check id={`${id}-keep`} label="Keep the chain" checked={form.keepChain} onChange={(v) => set('keepChain', v)} help="Archive each link (REDO logs, deltas) as it is, so a restore gives back the same snapshots." />
        )}

        {(request.kind === 'convert' || request.kind === 'export' || request.kind === 'import') && (
          <Check id={`${id}-force`} label="Replace existing files" checked={form.force} onChange={(v) => set('force', v)} />
        )}
        {request.kind === 'commit' && (
          <Check id={`${id}-force`} label="Commit even if the parent has other children" checked={form.force} onChange={(v) => set('force', v)} help="Those children will then read changed data." />
        )}
        {request.kind === 'backup' && (
          <Check id={`${id}-force`} label="Back up even if the VM looks in use" checked={form.force} onChange={(v) => set('force', v)} help="VMware lock files beside the disks say a VM is running." />
        )}
        {(request.kind === 'convert' || request.kind === 'export' || request.kind === 'import') && (
          <Check id={`${id}-cid`} label="Ignore CID mismatches" checked={form.ignoreCid} onChange={(v) => set('ignoreCid', v)} help="Read a chain whose parentCID does not match its parent’s CID." />
        )}

        <PreflightLine preflight={preflight} error={preflightError} pending={preflightPending} />
        {startError && <ErrorNote error={startError} title={`Could not start ${action.verb.toLowerCase()}`} />}
        {touched && !built.ok && built.field === null && <p className="error-text">{built.message}</p>}
      </div>
      <footer>
        <button type="button" onClick={onClose}>
          Close
        </button>
        <button type="submit" className="primary" disabled={starting || preflight?.enough === false}>
          {starting ? 'Starting…' : `Start ${action.verb.toLowerCase()}`}
        </button>
      </footer>
    </form>
  );
}

/** The modal <dialog> that hosts whichever action the UI store asks for. */
export function ActionDialog() {
  const request = useUi((s) => s.dialog);
  const { ui } = useStores();
  const ref = useRef<HTMLDialogElement | null>(null);
  const close = useMemo(() => () => ui.getState().closeDialog(), [ui]);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (request && !dialog.open) {
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
    } else if (!request && dialog.open) {
      if (typeof dialog.close === 'function') dialog.close();
      else dialog.removeAttribute('open');
    }
  }, [request]);

  const key = request ? `${request.kind}:${request.diskId ?? ''}:${request.catalogId ?? ''}` : 'none';
  return (
    <dialog ref={ref} onClose={close} aria-labelledby={request ? 'action-dialog-title' : undefined}>
      {request && <ActionDialogBody key={key} request={request} onClose={close} />}
    </dialog>
  );
}
