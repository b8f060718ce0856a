import { DISK_KINDS, type DiskKind } from '../../../../shared/jobs';
import { formatBytes } from '../../format';
import { DialogFrame, ForceCheck, IgnoreCidCheck, OutputField } from './DialogFrame';
import { Field, KIND_LABELS } from './fields';
import { useAction, type ActionProps } from './use-action';

/** A damaged disk: what can still be read, into a new disk (like convert, the damaged one only read). */
export function RecoverDialog(props: ActionProps) {
  const a = useAction(props);
  const { id, form, info } = a;
  const damage = info?.damage ?? null;
  return (
    <DialogFrame
      a={a}
      intro={damage && <p className="muted">{formatBytes(damage.lostBytes)} cannot be read; those sectors will be zeros in the new disk.</p>}
    >
      <Field label="Output kind" id={`${id}-to`} help="By default one growable file, split in 2 GB pieces when the disk is too large for one.">
        <select id={`${id}-to`} value={form.recoverTo} onChange={(e) => a.set('recoverTo', e.target.value as '' | DiskKind)}>
          <option value="">Default — monolithicSparse</option>
          {DISK_KINDS.map((k) => (
            <option key={k} value={k}>
              {KIND_LABELS[k]}
            </option>
          ))}
        </select>
      </Field>
      <OutputField a={a} />
      <ForceCheck a={a} label="Replace existing files" />
      <IgnoreCidCheck a={a} />
    </DialogFrame>
  );
}
