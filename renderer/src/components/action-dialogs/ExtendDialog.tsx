import { formatBytes } from '../../format';
import { DialogFrame, InUseForceCheck } from './DialogFrame';
import { Field } from './fields';
import { useAction, type ActionProps } from './use-action';

/** Grow a base disk; never shrinks. */
export function ExtendDialog(props: ActionProps) {
  const a = useAction(props);
  const id = `${a.id}-size`;
  const error = a.fieldError('size');
  return (
    <DialogFrame a={a}>
      <Field label="New capacity" id={id} error={error} help={a.info ? `Now ${formatBytes(a.info.capacityBytes)}. Type e.g. 40G or 20480M.` : 'e.g. 40G'}>
        <input id={id} type="text" value={a.form.size} onChange={(e) => a.set('size', e.target.value)} aria-invalid={error !== null} autoFocus />
      </Field>
      <InUseForceCheck a={a} />
    </DialogFrame>
  );
}
