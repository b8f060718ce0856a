/** The frame every action dialog shares: title and description, its fields, the preflight, Close and Start. */
import type { ReactNode } from 'react';
import { cleanText } from '../../format';
import { ErrorNote } from '../ErrorNote';
import { PathPicker, Field, Check } from './fields';
import { PreflightLine } from './PreflightLine';
import { SafetyLines } from './SafetyLines';
import { safetyBlock } from '../actions';
import type { Action } from './use-action';

export function DialogFrame({ a, intro, children }: { a: Action; intro?: ReactNode; children: ReactNode }) {
  const { request, action, built } = a;
  const blocked = safetyBlock(a.preflight, request.kind, a.form.force);
  return (
    <form onSubmit={a.submit} noValidate>
      <header>
        <h2 id="action-dialog-title">
          {action.verb}
          {a.diskName && ` ${a.diskName}`}
          {request.kind === 'restore' && request.catalogName && ` ${cleanText(request.catalogName, 200)}`}
        </h2>
        <p>{action.description}</p>
        {intro}
      </header>
      <div className="fields">
        {request.kind === 'snapshot' || request.kind === 'commit' || request.kind === 'extend' ? (
          // In-place changes: what they concern comes first, the go-ahead right after it.
          <>
            <SafetyLines kind={request.kind} preflight={a.preflight} force={a.form.force} />
            {children}
          </>
        ) : (
          <>
            {children}
            <SafetyLines kind={request.kind} preflight={a.preflight} force={a.form.force} />
          </>
        )}
        <PreflightLine preflight={a.preflight} error={a.preflightError} pending={a.preflightPending} />
        {a.startError && <ErrorNote error={a.startError} title={`Could not start ${action.verb.toLowerCase()}`} />}
        {a.touched && !built.ok && built.field === null && <p className="error-text">{built.message}</p>}
      </div>
      <footer>
        <button type="button" onClick={a.onClose}>
          Close
        </button>
        <button type="submit" className="primary" disabled={a.starting || a.preflight?.enough === false || blocked !== null} title={blocked ?? undefined}>
          {a.starting ? 'Starting…' : `Start ${action.verb.toLowerCase()}`}
        </button>
      </footer>
    </form>
  );
}

/** Where the job writes: a file or a folder chosen in main's dialog, and why choosing failed. */
export function OutputField({ a, help }: { a: Action; help?: string }) {
  const folder = a.action.output === 'folder';
  const id = `${a.id}-target`;
  const error = a.fieldError('target');
  return (
    <>
      <Field label={folder ? 'Output folder' : 'Output file'} id={id} error={error} help={help}>
        <PathPicker
          id={id}
          value={a.form.target}
          placeholder={folder ? 'No folder chosen' : 'No file chosen'}
          onChoose={a.chooseTarget}
          invalid={error !== null}
          buttonLabel={folder ? 'Choose folder…' : 'Choose file…'}
        />
      </Field>
      <ChooseError a={a} />
    </>
  );
}

export function ChooseError({ a }: { a: Action }) {
  return a.chooseError ? <ErrorNote error={a.chooseError} title="Could not choose" /> : null;
}

/**
 * The request's force flag. When the preflight found lock files it is worded as going ahead
 * anyway, and what else the same flag does (`label`) moves to its help line.
 */
export function ForceCheck({ a, label, help }: { a: Action; label: string; help?: string }) {
  const inUse = (a.preflight?.locks.length ?? 0) > 0;
  const shown = inUse ? 'Go ahead anyway, although the disk looks in use' : label;
  const helpShown = inUse ? (label === '' ? 'The VM may be writing to the disk meanwhile.' : `The VM may be writing to the disk meanwhile. The same choice also means: ${label.toLowerCase()}.`) : help;
  return <Check id={`${a.id}-force`} label={shown} checked={a.form.force} onChange={(v) => a.set('force', v)} {...(helpShown ? { help: helpShown } : {})} />;
}

/** For actions whose only use of force is the in-use check (snapshot, extend): shown only when locks were found. */
export function InUseForceCheck({ a }: { a: Action }) {
  return (a.preflight?.locks.length ?? 0) > 0 ? <ForceCheck a={a} label="" /> : null;
}

export function IgnoreCidCheck({ a }: { a: Action }) {
  return (
    <Check
      id={`${a.id}-cid`}
      label="Ignore CID mismatches"
      checked={a.form.ignoreCid}
      onChange={(v) => a.set('ignoreCid', v)}
      help="Read a chain whose parentCID does not match its parent’s CID."
    />
  );
}
