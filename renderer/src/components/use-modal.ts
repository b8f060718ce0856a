import { useEffect, useRef, type RefObject } from 'react';

/**
 * Shows the <dialog> as a modal while `open` holds and closes it when it stops holding (with an
 * attribute where the browser has no showModal, as happy-dom in the unit tests). `onShown` runs
 * each time it opens, to put the focus where typing starts.
 */
export function useModal(open: boolean, onShown?: () => void): RefObject<HTMLDialogElement | null> {
  const ref = useRef<HTMLDialogElement | null>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
      onShown?.();
    } else if (!open && dialog.open) {
      if (typeof dialog.close === 'function') dialog.close();
      else dialog.removeAttribute('open');
    }
    // onShown is read when the dialog opens; only `open` decides whether to run.
  }, [open]);
  return ref;
}
