// The signed-in key lives in sessionStorage only: it goes with the tab, is never sent as a cookie, and is
// never written to localStorage, where it would outlive the session.
const KEY = 'hourglass.apiKey';

export function loadKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function saveKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function clearKey(): void {
  sessionStorage.removeItem(KEY);
}
