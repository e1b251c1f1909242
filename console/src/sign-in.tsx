import { useState, type FormEvent } from 'react';
import { checkKey } from './api';
import { ErrorMessage } from './error-message';

/** The sign-in form: the key is checked against the API before the app keeps it. */
export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await checkKey(key.trim());
      onSignedIn(key.trim());
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="sign-in">
      <h1>Hourglass</h1>
      {notice !== null && <p className="notice">{notice}</p>}
      <form onSubmit={submit}>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          required
          value={key}
          onChange={(e) => setKey(e.target.value)}
        />
        <button type="submit" disabled={busy || key.trim() === ''}>
          Sign in
        </button>
      </form>
      <ErrorMessage error={error} />
    </main>
  );
}
