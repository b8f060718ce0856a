/** The small form pieces every action dialog is made of. */
import type { ReactNode } from 'react';
import type { Target } from '../../../../shared/ipc/contract';
import type { DiskKind } from '../../../../shared/jobs';

export const KIND_LABELS: Record<DiskKind, string> = {
  monolithicSparse: 'monolithicSparse — one growable file (Workstation)',
  twoGbMaxExtentSparse: 'twoGbMaxExtentSparse — growable, 2 GB pieces',
  monolithicFlat: 'monolithicFlat — one preallocated file',
  twoGbMaxExtentFlat: 'twoGbMaxExtentFlat — preallocated, 2 GB pieces',
  streamOptimized: 'streamOptimized — compressed (OVA/OVF)',
  vmfs: 'vmfs — ESX descriptor + -flat.vmdk',
  vmfsThin: 'vmfsThin — ESX, -flat.vmdk written sparse',
  raw: 'raw — a plain image (.img)',
};

export function Field({ label, id, help, error, children }: { label: string; id: string; help?: ReactNode; error?: string | null; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      {error ? (
        <span className="error-text" id={`${id}-error`}>
          {error}
        </span>
      ) : (
        help && <span className="help">{help}</span>
      )}
    </div>
  );
}

export function Check({ id, label, checked, onChange, help }: { id: string; label: string; checked: boolean; onChange: (v: boolean) => void; help?: string }) {
  return (
    <div className="check-field">
      <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} />
      <div>
        <label htmlFor={id}>{label}</label>
        {help && <div className="help muted">{help}</div>}
      </div>
    </div>
  );
}

/** A chosen output or input place: its path (read only) and a button that asks main's dialog. */
export function PathPicker({
  id,
  value,
  placeholder,
  onChoose,
  invalid,
  buttonLabel,
}: {
  id: string;
  value: Target | null;
  placeholder: string;
  onChoose: () => void;
  invalid: boolean;
  buttonLabel: string;
}) {
  return (
    <div className="path-picker">
      <input
        id={id}
        type="text"
        readOnly
        value={value ? value.path : ''}
        placeholder={placeholder}
        aria-invalid={invalid}
        aria-describedby={invalid ? `${id}-error` : undefined}
        onClick={onChoose}
        className="mono"
      />
      <button type="button" onClick={onChoose}>
        {buttonLabel}
      </button>
    </div>
  );
}
