import type { ReactNode } from 'react';

/** An empty screen that says what to do next. */
export function EmptyState({ title, children, actions, className }: { title: string; children?: ReactNode; actions?: ReactNode; className?: string }) {
  return (
    <section className={`empty ${className ?? ''}`} aria-label={title}>
      <h2>{title}</h2>
      {children}
      {actions && <div className="actions">{actions}</div>}
    </section>
  );
}
