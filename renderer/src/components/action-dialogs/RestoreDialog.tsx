import { RESTORE_KINDS, type RestoreKind } from '../actions';
import { DialogFrame, OutputField } from './DialogFrame';
import { Field, PathPicker } from './fields';
import { useAction, type ActionProps } from './use-action';

/** An archive (from the catalog, or a chosen folder) back into disks. */
export function RestoreDialog(props: ActionProps) {
  const a = useAction(props);
  const { id, form, request } = a;
  const archiveError = a.fieldError('archiveFolder');
  return (
    <DialogFrame a={a}>
      {request.catalogId === undefined && (
        <Field label="Archive folder" id={`${id}-archive`} error={archiveError} help="The folder that holds manifest.json.">
          <PathPicker id={`${id}-archive`} value={form.archiveFolder} placeholder="No archive chosen" onChoose={() => a.chooseInput('archiveFolder')} invalid={archiveError !== null} buttonLabel="Choose archive…" />
        </Field>
      )}
      <OutputField a={a} />
      <Field label="Restore as" id={`${id}-restore-to`}>
        <select id={`${id}-restore-to`} value={form.restoreTo} onChange={(e) => a.set('restoreTo', e.target.value as RestoreKind | '')}>
          <option value="">The kind each disk had</option>
          {RESTORE_KINDS.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      </Field>
    </DialogFrame>
  );
}
