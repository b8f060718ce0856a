import { DialogFrame, ForceCheck, IgnoreCidCheck, OutputField } from './DialogFrame';
import { SegmentField } from './options';
import { useAction, type ActionProps } from './use-action';

/** ESX → Workstation: twoGbMaxExtentSparse into a folder. */
export function ExportDialog(props: ActionProps) {
  const a = useAction(props);
  return (
    <DialogFrame a={a}>
      <OutputField a={a} help="NAME.vmdk and NAME-s001.vmdk… are written into it." />
      <SegmentField a={a} />
      <ForceCheck a={a} label="Replace existing files" />
      <IgnoreCidCheck a={a} />
    </DialogFrame>
  );
}
