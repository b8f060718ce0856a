/** The modal <dialog> that hosts whichever action the UI store asks for: one component per action (action-dialogs/). */
import { useMemo, type ComponentType } from 'react';
import { useStores, useUi } from '../store';
import { useModal } from './use-modal';
import { BackupDialog } from './action-dialogs/BackupDialog';
import { CommitDialog } from './action-dialogs/CommitDialog';
import { ConvertDialog } from './action-dialogs/ConvertDialog';
import { ExportDialog } from './action-dialogs/ExportDialog';
import { ExtendDialog } from './action-dialogs/ExtendDialog';
import { ImportDialog } from './action-dialogs/ImportDialog';
import { RecoverDialog } from './action-dialogs/RecoverDialog';
import { RestoreDialog } from './action-dialogs/RestoreDialog';
import { SnapshotDialog } from './action-dialogs/SnapshotDialog';
import type { ActionProps } from './action-dialogs/use-action';
import type { ActionKind } from './actions';

const DIALOGS: Record<ActionKind, ComponentType<ActionProps>> = {
  convert: ConvertDialog,
  export: ExportDialog,
  import: ImportDialog,
  commit: CommitDialog,
  snapshot: SnapshotDialog,
  extend: ExtendDialog,
  backup: BackupDialog,
  restore: RestoreDialog,
  recover: RecoverDialog,
};

export function ActionDialog() {
  const request = useUi((s) => s.dialog);
  const { ui } = useStores();
  const close = useMemo(() => () => ui.getState().closeDialog(), [ui]);

  const ref = useModal(request !== null && request !== undefined);

  const key = request ? `${request.kind}:${request.diskId ?? ''}:${request.catalogId ?? ''}` : 'none';
  const Body = request ? DIALOGS[request.kind] : null;
  return (
    <dialog ref={ref} onClose={close} aria-labelledby={request ? 'action-dialog-title' : undefined}>
      {request && Body && <Body key={key} request={request} onClose={close} />}
    </dialog>
  );
}
