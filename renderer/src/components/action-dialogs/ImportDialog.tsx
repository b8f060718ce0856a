import { DialogFrame, ForceCheck, IgnoreCidCheck, OutputField } from './DialogFrame';
import { Check } from './fields';
import { AdapterField } from './options';
import { useAction, type ActionProps } from './use-action';

/** Workstation → ESX: vmfs, or vmfsThin. */
export function ImportDialog(props: ActionProps) {
  const a = useAction(props);
  return (
    <DialogFrame a={a}>
      <OutputField a={a} />
      <AdapterField a={a} />
      <Check id={`${a.id}-thin`} label="Thin (vmfsThin)" checked={a.form.thin} onChange={(v) => a.set('thin', v)} help="Write the -flat.vmdk sparse instead of fully allocated." />
      <ForceCheck a={a} label="Replace existing files" />
      <IgnoreCidCheck a={a} />
    </DialogFrame>
  );
}
