/**
 * What every action dialog does, whatever its fields: the form, the request it builds, the
 * free-space preflight of that request, choosing places in main's dialogs, and Start. All
 * through store actions; no dialog talks to IPC itself.
 */
import { useEffect, useId, useState, type FormEvent } from 'react';
import type { Preflight, Target, WireError } from '../../../../shared/ipc/contract';
import type { DiskInfo } from '../../../../shared/types';
import { toWireError } from '../../api';
import { cleanText } from '../../format';
import { useDisks, useStores } from '../../store';
import type { OpenDisk } from '../../store/disks';
import { valueOf } from '../../store/loadable';
import type { DialogRequest } from '../../store/ui';
import { ACTIONS, buildRequest, diskStem, emptyForm, safetyBlock, type ActionForm, type ActionText, type Built } from '../actions';

export interface ActionProps {
  request: DialogRequest;
  onClose: () => void;
}

export interface Action {
  request: DialogRequest;
  action: ActionText;
  id: string;
  disk: OpenDisk | undefined;
  info: DiskInfo | null;
  diskName: string;
  form: ActionForm;
  set<K extends keyof ActionForm>(key: K, value: ActionForm[K]): void;
  built: Built;
  /** The message for a field, once the user tried to start. */
  fieldError(field: keyof ActionForm): string | null;
  touched: boolean;
  preflight: Preflight | null;
  preflightError: WireError | null;
  preflightPending: boolean;
  starting: boolean;
  startError: WireError | null;
  chooseError: WireError | null;
  /** Asks main for the output (file or folder, as the action writes). */
  chooseTarget(): void;
  /** Asks main for an input place and stores it in the form field. */
  chooseInput(field: 'vmx' | 'archiveFolder'): void;
  submit(e: FormEvent): void;
  onClose(): void;
}

const PREFLIGHT_DELAY_MS = 150;

export function useAction({ request, onClose }: ActionProps): Action {
  const { jobs, targets, ui } = useStores();
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

  const subject = {
    kind: request.kind,
    ...(request.diskId ? { diskId: request.diskId } : {}),
    ...(request.catalogId !== undefined ? { catalogId: request.catalogId } : {}),
    ...(info ? { capacityBytes: info.capacityBytes } : {}),
  };
  const built = buildRequest(subject, form);
  // force changes what the job may do, not what the preflight finds: ticking it does not check again.
  const requestKey = built.ok ? JSON.stringify({ ...built.request, force: undefined }) : '';

  useEffect(() => {
    setPreflight(null);
    setPreflightError(null);
    if (!built.ok) return;
    const req = built.request;
    let live = true;
    setPreflightPending(true);
    const timer = setTimeout(() => {
      jobs
        .getState()
        .preflight(req)
        .then((p) => live && setPreflight(p))
        .catch((e: unknown) => live && setPreflightError(toWireError(e)))
        .finally(() => live && setPreflightPending(false));
    }, PREFLIGHT_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
    // requestKey stands for built.request: the same request is not checked twice.
  }, [jobs, requestKey]);

  const choose = (field: 'target' | 'vmx' | 'archiveFolder', ask: () => Promise<Target | null>): void => {
    setChooseError(null);
    ask().then(
      (target) => target && set(field, target),
      (e: unknown) => setChooseError(toWireError(e)),
    );
  };

  const chooseTarget = (): void => {
    const stem = disk ? diskStem(disk.ref.path) : 'disk';
    const raw = (request.kind === 'convert' && form.to === 'raw') || (request.kind === 'recover' && form.recoverTo === 'raw');
    // A recovered disk is named apart from the damaged one beside it.
    const name = request.kind === 'recover' ? `${stem}-recovered` : stem;
    choose('target', () =>
      action.output === 'folder'
        ? targets.getState().chooseFolder({ title: `${action.verb}: choose the output folder` })
        : targets.getState().chooseFile({ mode: 'save', suggestedName: `${name}${raw ? '.img' : '.vmdk'}`, filter: raw ? 'raw' : 'vmdk', title: `${action.verb}: choose the output file` }),
    );
  };

  const chooseInput = (field: 'vmx' | 'archiveFolder'): void =>
    choose(field, () =>
      field === 'vmx'
        ? targets.getState().chooseFile({ mode: 'open', filter: 'vmx', title: 'Back up: choose the VM’s .vmx file' })
        : targets.getState().chooseFolder({ title: 'Restore: choose the archive folder (with manifest.json)' }),
    );

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setTouched(true);
    if (!built.ok || preflight?.enough === false || safetyBlock(preflight, request.kind, form.force) !== null) return;
    setStarting(true);
    setStartError(null);
    jobs
      .getState()
      .start(built.request)
      .then(
        () => {
          ui.getState().setJobsOpen(true);
          onClose();
        },
        (err: unknown) => setStartError(toWireError(err)),
      )
      .finally(() => setStarting(false));
  };

  return {
    request,
    action,
    id,
    disk,
    info: info ?? null,
    diskName: disk ? cleanText(disk.ref.name, 200) : '',
    form,
    set,
    built,
    fieldError: (field) => (touched && !built.ok && built.field === field ? built.message : null),
    touched,
    preflight,
    preflightError,
    preflightPending,
    starting,
    startError,
    chooseError,
    chooseTarget,
    chooseInput,
    submit,
    onClose,
  };
}
