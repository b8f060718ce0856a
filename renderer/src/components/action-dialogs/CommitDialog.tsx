import { baseName, cleanText } from '../../format';
import { DialogFrame, ForceCheck } from './DialogFrame';
import { useAction, type ActionProps } from './use-action';

/** Fold the top link into its parent and remove it. */
export function CommitDialog(props: ActionProps) {
  const a = useAction(props);
  const parent = a.info && a.info.layers.length > 1 ? baseName(a.info.layers[1]!.path) : null;
  const intro = a.info && (
    <p>
      {parent ? (
        <>
          <strong>{a.diskName}</strong> will be folded into <strong>{cleanText(parent, 200)}</strong> and then removed.
        </>
      ) : (
        <strong>This disk has no parent: there is nothing to commit it into.</strong>
      )}
    </p>
  );
  return (
    <DialogFrame a={a} intro={intro}>
      <ForceCheck a={a} label="Commit even if the parent has other children" help="Those children will then read changed data." />
    </DialogFrame>
  );
}
