// The page's URL query as state: a page that keeps its filters there can be linked to, reloaded and
// navigated back to. A page changes it with history.pushState and a popstate event, as router.ts does.
import { useEffect, useState } from 'react';

export function useUrlQuery(): URLSearchParams {
  const [search, setSearch] = useState(window.location.search);
  useEffect(() => {
    const update = (): void => setSearch(window.location.search);
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return new URLSearchParams(search);
}
