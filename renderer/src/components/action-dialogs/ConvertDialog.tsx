import { DISK_KINDS, type DiskKind } from '../../../../shared/jobs';
import { SPLIT_KINDS } from '../actions';
import { DialogFrame, ForceCheck, IgnoreCidCheck, OutputField } from './DialogFrame';
import { Field, KIND_LABELS } from './fields';
import { AdapterField, SegmentField } from './options';
import { useAction, type ActionProps } from './use-action';

/** Any readable disk or chain, flattened, as another kind. */
export function ConvertDialog(props: ActionProps) {
  const a = useAction(props);
  const { id, form } = a;
  return (
    <DialogFrame a={a}>
      <Field label="Output kind" id={`${id}-to`}>
        <select id={`${id}-to`} value={form.to} onChange={(e) => a.set('to', e.target.value as DiskKind)}>
          {DISK_KINDS.map((k) => (
            <option key={k} value={k}>
              {KIND_LABELS[k]}
            </option>
          ))}
        </select>
      </Field>
      <OutputField a={a} />
      <AdapterField a={a} />
      {SPLIT_KINDS.has(form.to) && <SegmentField a={a} />}
      {form.to === 'streamOptimized' && (
        <Field label="Compression level" id={`${id}-level`} error={a.fieldError('compressLevel')} help="1 is fastest, 9 smallest; default 6.">
          <input id={`${id}-level`} type="number" min={1} max={9} placeholder="6" value={form.compressLevel} onChange={(e) => a.set('compressLevel', e.target.value)} />
        </Field>
      )}
      <ForceCheck a={a} label="Replace existing files" />
      <IgnoreCidCheck a={a} />
    </DialogFrame>
  );
}
