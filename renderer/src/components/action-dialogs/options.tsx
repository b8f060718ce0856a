/** Fields more than one dialog asks for. */
import { ADAPTERS, type Adapter } from '../../../../shared/jobs';
import { Field } from './fields';
import type { Action } from './use-action';

export function AdapterField({ a }: { a: Action }) {
  const id = `${a.id}-adapter`;
  return (
    <Field label="Adapter" id={id} help="Written to ddb.adapterType; the geometry follows it.">
      <select id={id} value={a.form.adapter} onChange={(e) => a.set('adapter', e.target.value as Adapter | '')}>
        <option value="">Keep the source’s adapter</option>
        {ADAPTERS.map((adapter) => (
          <option key={adapter} value={adapter}>
            {adapter}
          </option>
        ))}
      </select>
    </Field>
  );
}

export function SegmentField({ a }: { a: Action }) {
  const id = `${a.id}-segment`;
  const error = a.fieldError('segmentSize');
  return (
    <Field label="Segment size" id={id} error={error} help="Largest extent file; default 2047M, at most 2G.">
      <input id={id} type="text" inputMode="numeric" placeholder="2047M" value={a.form.segmentSize} onChange={(e) => a.set('segmentSize', e.target.value)} aria-invalid={error !== null} />
    </Field>
  );
}
