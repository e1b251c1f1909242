import type { MouseEvent, ReactNode } from 'react';
import { navigate } from './router';

/** An ordinary link (it opens in a new tab too) that changes page without reloading the app. */
export function Link({ to, children, label }: { to: string; children: ReactNode; label?: string }) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>): void => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={onClick} aria-label={label}>
      {children}
    </a>
  );
}
