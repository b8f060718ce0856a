import { DialogFrame, InUseForceCheck, OutputField } from './DialogFrame';
import { Check, Field, PathPicker } from './fields';
import { useAction, type ActionProps } from './use-action';

/** A disk, or a whole VM, into an archive folder. */
export function BackupDialog(props: ActionProps) {
  const a = useAction(props);
  const { id, form, request, diskName } = a;
  const vmxError = a.fieldError('vmx');
  return (
    <DialogFrame a={a}>
      <fieldset className="field">
        <legend className="label">What to back up</legend>
        <div className="check-field">
          <input id={`${id}-src-disk`} type="radio" name="backup-source" checked={form.backupSource === 'disk'} onChange={() => a.set('backupSource', 'disk')} disabled={!request.diskId} />
          <label htmlFor={`${id}-src-disk`}>This disk{diskName ? ` (${diskName})` : ''}, its chain read through</label>
        </div>
        <div className="check-field">
          <input id={`${id}-src-vm`} type="radio" name="backup-source" checked={form.backupSource === 'vm'} onChange={() => a.set('backupSource', 'vm')} />
          <label htmlFor={`${id}-src-vm`}>A whole VM: its .vmx, .nvram and every disk</label>
        </div>
        {form.backupSource === 'vm' && (
          <Field label="VM configuration (.vmx)" id={`${id}-vmx`} error={vmxError}>
            <PathPicker id={`${id}-vmx`} value={form.vmx} placeholder="No .vmx chosen" onChoose={() => a.chooseInput('vmx')} invalid={vmxError !== null} buttonLabel="Choose .vmx…" />
          </Field>
        )}
      </fieldset>
      <OutputField a={a} />
      <Check id={`${id}-keep`} label="Keep the chain" checked={form.keepChain} onChange={(v) => a.set('keepChain', v)} help="Archive each link (REDO logs, deltas) as it is, so a restore gives back the same snapshots." />
      <InUseForceCheck a={a} />
    </DialogFrame>
  );
}
