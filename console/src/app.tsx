import { useEffect, useState, type ReactNode } from 'react';
import { AdminTenantPage } from './admin-tenant-page';
import { AdminTenantsPage } from './admin-tenants-page';
import { setUnauthorizedListener, type KeyKind } from './api';
import { JobFormPage } from './job-form';
import { JobsPage } from './jobs-page';
import { useKeyKind } from './key-kind';
import { NewSchedulePage } from './new-schedule-page';
import { Link } from './link';
import { OverviewPage } from './overview-page';
import { navigate, usePath } from './router';
import { RunPage } from './run-page';
import { RunsPage } from './runs-page';
import { SchedulePage } from './schedule-page';
import { SchedulesPage } from './schedules-page';
import { clearKey, loadKey, saveKey } from './session';
import { SignIn } from './sign-in';

/** The shell: sign-in until there is a key, then the page the path names. A 401 signs the user out. */
export function App() {
  const [key, setKey] = useState<string | null>(loadKey);
  const [notice, setNotice] = useState<string | null>(null);
  const path = usePath();
  const kind = useKeyKind(key);

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
          {NAV.filter((item) => (item.kind ?? 'tenant') === kind).map((item) => (
            <Link key={item.to} to={item.to}>
              {item.label}
            </Link>
          ))}
        </nav>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>{kind === null ? <p>Loading…</p> : pageFor(path, key, kind)}</main>
    </>
  );
}

/** The main navigation, in order; an item is a tenant's unless its `kind` says otherwise. */
const NAV: readonly { to: string; label: string; kind?: KeyKind }[] = [
  { to: '/', label: 'Overview' },
  { to: '/jobs', label: 'Jobs' },
  { to: '/schedules', label: 'Schedules' },
  { to: '/runs', label: 'Runs' },
  { to: '/admin', label: 'Tenants', kind: 'admin' },
];

/**
 * The console's pages by path, first match wins. `key` remounts a page when the key or the path's id
 * changes, so no state of one tenant's page survives into another's. Keep this list in step with
 * APP_ROUTES in src/api/routes/console.ts, which serves index.html on these paths.
 */
const PAGES: readonly {
  path: RegExp;
  render: (apiKey: string, params: string[]) => ReactNode;
  /** Whose page it is: a tenant's unless it says `admin`. An admin lands on /admin from `/`. */
  kind?: KeyKind;
}[] = [
  {
    path: /^\/(admin)?$/,
    kind: 'admin',
    render: (apiKey) => <AdminTenantsPage key={apiKey} apiKey={apiKey} />,
  },
  {
    path: /^\/admin\/tenants\/([^/]+)$/,
    kind: 'admin',
    render: (apiKey, [id = '']) => <AdminTenantPage key={apiKey + id} apiKey={apiKey} tenantId={id} />,
  },
  { path: /^\/schedules$/, render: (apiKey) => <SchedulesPage key={apiKey} apiKey={apiKey} /> },
  { path: /^\/schedules\/new$/, render: (apiKey) => <NewSchedulePage key={apiKey} apiKey={apiKey} /> },
  {
    path: /^\/schedules\/([^/]+)$/,
    render: (apiKey, [id = '']) => <SchedulePage key={apiKey + id} apiKey={apiKey} scheduleId={id} />,
  },
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

function pageFor(path: string, apiKey: string, kind: KeyKind): ReactNode {
  for (const page of PAGES.filter((candidate) => (candidate.kind ?? 'tenant') === kind)) {
    const match = page.path.exec(path);
    if (match !== null) return page.render(apiKey, match.slice(1).map(decodeURIComponent));
  }
  return <NotFound home={kind === 'admin' ? '/admin' : '/'} />;
}

function NotFound({ home }: { home: string }) {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no console page here. <Link to={home}>Go to the start page</Link>.
      </p>
    </section>
  );
}
