import { DialogFrame } from './DialogFrame';
import { useAction, type ActionProps } from './use-action';

/** Add an empty child to the disk: nothing to choose. */
export function SnapshotDialog(props: ActionProps) {
  const a = useAction(props);
  return <DialogFrame a={a}>{null}</DialogFrame>;
}
