import { useEffect, useState } from 'react';
import { setUnauthorizedListener } from './api';
import { JobsPage } from './jobs-page';
import { Link } from './link';
import { navigate, usePath } from './router';
import { RunPage } from './run-page';
import { clearKey, loadKey, saveKey } from './session';
import { SignIn } from './sign-in';

/** The shell: sign-in until there is a key, then the page the path names. A 401 signs the user out. */
export function App() {
  const [key, setKey] = useState<string | null>(loadKey);
  const [notice, setNotice] = useState<string | null>(null);
  const path = usePath();

  useEffect(() => {
    setUnauthorizedListener((message) => {
      clearKey();
      setKey(null);
      setNotice(`Your session has ended (${message}). Sign in again.`);
    });
  }, []);

  if (key === null) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(signedIn) => {
          saveKey(signedIn);
          setNotice(null);
          setKey(signedIn);
        }}
      />
    );
  }

  const signOut = (): void => {
    clearKey();
    setKey(null);
    setNotice('Signed out.');
    navigate('/');
  };
  const runMatch = /^\/runs\/([^/]+)$/.exec(path);
  return (
    <>
      <header className="top">
        <span className="brand">Hourglass</span>
        <nav aria-label="Main">
          <Link to="/jobs">Jobs</Link>
        </nav>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {runMatch?.[1] !== undefined ? (
          <RunPage key={runMatch[1]} apiKey={key} runId={decodeURIComponent(runMatch[1])} />
        ) : (
          <JobsPage key={key} apiKey={key} />
        )}
      </main>
    </>
  );
}
