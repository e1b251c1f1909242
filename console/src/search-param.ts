// A query parameter of the current URL, kept up to date across navigations (History API pushes and back).
import { useEffect, useState } from 'react';

export function useSearchParam(name: string): string | null {
  const read = (): string | null => new URLSearchParams(window.location.search).get(name);
  const [value, setValue] = useState(read);
  useEffect(() => {
    const update = (): void => setValue(new URLSearchParams(window.location.search).get(name));
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, [name]);
  return value;
}
