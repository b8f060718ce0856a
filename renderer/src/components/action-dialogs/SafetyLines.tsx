/**
 * What the job's preflight found before Start (issue 16): the VM that uses the disk, VMware lock
 * files that say it is running, outputs that exist. The job refuses the last two unless forced,
 * so they are said here, beside the choice to go ahead anyway, instead of after a failed job.
 */
import type { JobKind, Preflight } from '../../../../shared/ipc/contract';
import { baseName, cleanText, dirName } from '../../format';
import { REPLACES_WITH_FORCE } from '../actions';

/** A few file names, then how many more. */
export function someNames(files: string[], max = 3): string {
  const names = files.slice(0, max).map((f) => cleanText(baseName(f), 120));
  return files.length > max ? `${names.join(', ')} and ${files.length - max} more` : names.join(', ');
}

function vmLine(kind: JobKind, vms: string[], names: Array<string | null>): string {
  const vmName = (vmx: string, i: number): string => cleanText(names[i] ?? baseName(vmx).replace(/\.vmx$/i, ''), 120);
  const used = `Used by the VM ${vms.map(vmName).join(', ')} (${someNames(vms)}).`;
  if (kind === 'snapshot') return `${used} Its .vmx will be pointed at the new child, so the VM boots on it; the old .vmx is kept as a backup.`;
  if (kind === 'commit') return `${used} A .vmx entry naming this link will be pointed at its parent; the old .vmx is kept as a backup.`;
  return used;
}

export function SafetyLines({ kind, preflight, force }: { kind: JobKind; preflight: Preflight | null; force: boolean }) {
  if (!preflight) return null;
  const { vms, locks, existing } = preflight;
  const replaceable = REPLACES_WITH_FORCE.has(kind);
  return (
    <>
      {vms.length > 0 && (
        <div className="note info" role="status" aria-label="VM">
          <span className="icon" aria-hidden="true">
            i
          </span>
          <div className="body">{vmLine(kind, vms, preflight.vmNames)}</div>
        </div>
      )}
      {locks.length > 0 && (
        <div className={`note ${force ? 'warning' : 'error'}`} role="alert" aria-label="In use">
          <span className="icon" aria-hidden="true">
            !
          </span>
          <div className="body">
            <strong>The disk looks in use.</strong> VMware lock {locks.length === 1 ? 'file' : 'files'} {someNames(locks)} found beside it: a VM may be running on it.
            <div className="fix">
              {force ? 'You chose to go ahead anyway; the VM may be writing to the disk meanwhile.' : 'Shut the VM down first, or tick “Go ahead anyway”.'}
            </div>
          </div>
        </div>
      )}
      {existing.length > 0 && (
        <div className={`note ${force && replaceable ? 'warning' : 'error'}`} role="alert" aria-label="Output exists">
          <span className="icon" aria-hidden="true">
            !
          </span>
          <div className="body">
            <strong>Already there:</strong> {someNames(existing)} in <span className="mono">{cleanText(dirName(existing[0]!), 500)}</span>.
            <div className="fix">
              {!replaceable
                ? 'Choose an empty folder: an archive is never written over another.'
                : force
                  ? 'It will be replaced when the job finishes.'
                  : locks.length > 0
                    ? 'Choose another name, or tick “Go ahead anyway”, which also overwrites it.'
                    : 'Choose another name, or tick “Replace existing files” to overwrite it.'}
            </div>
          </div>
        </div>
      )}
    </>
  );
}
