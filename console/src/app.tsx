import { useEffect, useState, type ReactNode } from 'react';
import { setUnauthorizedListener } from './api';
import { JobFormPage } from './job-form';
import { JobsPage } from './jobs-page';
import { Link } from './link';
import { OverviewPage } from './overview-page';
import { navigate, usePath } from './router';
import { RunPage } from './run-page';
import { RunsPage } from './runs-page';
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
  return (
    <>
      <header className="top">
        <span className="brand">Hourglass</span>
        <nav aria-label="Main">
          {NAV.map((item) => (
            <Link key={item.to} to={item.to}>
              {item.label}
            </Link>
          ))}
        </nav>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>{pageFor(path, key)}</main>
    </>
  );
}

/** The main navigation, in order. */
const NAV: readonly { to: string; label: string }[] = [
  { to: '/', label: 'Overview' },
  { to: '/jobs', label: 'Jobs' },
  { to: '/runs', label: 'Runs' },
];

/**
 * The console's pages by path, first match wins. `key` remounts a page when the key or the path's id
 * changes, so no state of one tenant's page survives into another's. Keep this list in step with
 * APP_ROUTES in src/api/routes/console.ts, which serves index.html on these paths.
 */
const PAGES: readonly { path: RegExp; render: (apiKey: string, params: string[]) => ReactNode }[] = [
  {
    path: /^\/runs\/([^/]+)$/,
    render: (apiKey, [runId = '']) => <RunPage key={apiKey + runId} apiKey={apiKey} runId={runId} />,
  },
  { path: /^\/$/, render: (apiKey) => <OverviewPage key={apiKey} apiKey={apiKey} /> },
  { path: /^\/jobs$/, render: (apiKey) => <JobsPage key={apiKey} apiKey={apiKey} /> },
  { path: /^\/jobs\/new$/, render: (apiKey) => <JobFormPage key={apiKey} apiKey={apiKey} jobId={null} /> },
  {
    path: /^\/jobs\/([^/]+)\/edit$/,
    render: (apiKey, [jobId = '']) => <JobFormPage key={apiKey + jobId} apiKey={apiKey} jobId={jobId} />,
  },
  { path: /^\/runs$/, render: (apiKey) => <RunsPage key={apiKey} apiKey={apiKey} /> },
];

function pageFor(path: string, apiKey: string): ReactNode {
  for (const page of PAGES) {
    const match = page.path.exec(path);
    if (match !== null) return page.render(apiKey, match.slice(1).map(decodeURIComponent));
  }
  return <NotFound />;
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no console page here. <Link to="/jobs">Go to jobs</Link>.
      </p>
    </section>
  );
}
