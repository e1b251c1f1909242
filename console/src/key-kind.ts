// Which kind of key is signed in (tenant or admin), asked of the API once per key rather than stored: the
// tab's storage keeps the key alone. Null while the answer is awaited.
import { useEffect, useState } from 'react';
import { checkKey, type KeyKind } from './api';

export function useKeyKind(key: string | null): KeyKind | null {
  const [kind, setKind] = useState<{ key: string; kind: KeyKind } | null>(null);
  useEffect(() => {
    if (key === null) return;
    let stopped = false;
    checkKey(key)
      .then((answer) => {
        if (!stopped) setKind({ key, kind: answer });
      })
      // A key the API no longer takes: the tenant pages' first request meets the 401 and signs out.
      .catch(() => {
        if (!stopped) setKind({ key, kind: 'tenant' });
      });
    return () => {
      stopped = true;
    };
  }, [key]);
  return kind !== null && kind.key === key ? kind.kind : null;
}
