import { DialogFrame, InUseForceCheck } from './DialogFrame';
import { useAction, type ActionProps } from './use-action';

/** Add an empty child to the disk: nothing to choose, unless the disk looks in use. */
export function SnapshotDialog(props: ActionProps) {
  const a = useAction(props);
  return (
    <DialogFrame a={a}>
      <InUseForceCheck a={a} />
    </DialogFrame>
  );
}
