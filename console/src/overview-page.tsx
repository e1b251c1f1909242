// The overview: what the tenant's runs did in the last hour or day (GET /v1/stats), refreshed every 10 s
// while the tab is visible: runs finished by outcome (a uPlot chart with its table), the lag distribution,
// runs running now, the latest failures and the next runs due.
import { useCallback, useEffect, useState } from 'react';
import { ErrorMessage } from './error-message';
import { formatMs, LagHistogram } from './lag-histogram';
import { useJobNames } from './job-names';
import { Link } from './link';
import { OutcomeChart } from './outcome-chart';
import { getStats, type RunStats, type StatsWindow } from './runs-api';

const REFRESH_MS = 10_000;
const WINDOWS: readonly { value: StatsWindow; label: string }[] = [
  { value: '1h', label: 'Last hour' },
  { value: '24h', label: 'Last day' },
];

const when = (iso: string): string => new Date(iso).toLocaleString();

export function OverviewPage({ apiKey }: { apiKey: string }) {
  const [statsWindow, setStatsWindow] = useState<StatsWindow>('1h');
  const [stats, setStats] = useState<RunStats | null>(null);
  const [error, setError] = useState<string | null>(null);
  const jobName = useJobNames(apiKey);

  const load = useCallback(
    async (isCurrent: () => boolean) => {
      try {
        const next = await getStats(apiKey, statsWindow);
        if (!isCurrent()) return;
        setStats(next);
        setError(null);
      } catch (e) {
        if (isCurrent()) setError((e as Error).message);
      }
    },
    [apiKey, statsWindow],
  );

  useEffect(() => {
    let current = true;
    const isCurrent = (): boolean => current;
    void load(isCurrent);
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void load(isCurrent);
    }, REFRESH_MS);
    // Back from a hidden tab: the numbers are stale, so read them at once.
    const onVisible = (): void => {
      if (document.visibilityState === 'visible') void load(isCurrent);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      current = false;
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [load]);

  return (
    <section className="overview">
      <h1>Overview</h1>
      <div role="group" aria-label="Window" className="toggle">
        {WINDOWS.map((option) => (
          <button
            key={option.value}
            type="button"
            aria-pressed={statsWindow === option.value}
            onClick={() => setStatsWindow(option.value)}
          >
            {option.label}
          </button>
        ))}
      </div>
      <ErrorMessage error={error} />
      {(stats === null || stats.window !== statsWindow) && error === null && <p>Loading…</p>}
      {stats !== null && stats.window === statsWindow && (
        <>
          <dl className="figures">
            <div>
              <dt>Running now</dt>
              <dd data-testid="running-now">{stats.runningNow}</dd>
            </div>
            <div>
              <dt>Lag p50</dt>
              <dd data-testid="lag-p50">{formatMs(stats.lag.p50Ms)}</dd>
            </div>
            <div>
              <dt>Lag p99</dt>
              <dd data-testid="lag-p99">{formatMs(stats.lag.p99Ms)}</dd>
            </div>
          </dl>
          <OutcomeChart stats={stats} />
          <LagHistogram lag={stats.lag} />
          <h2>Recent failures</h2>
          {stats.recentFailures.length === 0 ? (
            <p>No failures in this window.</p>
          ) : (
            <div className="table-scroll">
              <table aria-label="Recent failures">
                <thead>
                  <tr>
                    <th scope="col">Run</th>
                    <th scope="col">Job</th>
                    <th scope="col">Status</th>
                    <th scope="col">Exit code</th>
                    <th scope="col">Reason</th>
                    <th scope="col">Finished</th>
                  </tr>
                </thead>
                <tbody>
                  {stats.recentFailures.map((run) => (
                    <tr key={run.id}>
                      <td>
                        <Link to={`/runs/${run.id}`}>{run.id}</Link>
                      </td>
                      <td>{jobName(run.jobId)}</td>
                      <td>
                        <span className={`status status-${run.status}`}>{run.status}</span>
                      </td>
                      <td>{run.exitCode ?? '—'}</td>
                      <td>{run.reason ?? '—'}</td>
                      <td>{when(run.finishedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p>
            <Link to="/runs?failures=1">All failures</Link>
          </p>
          <h2>Upcoming runs</h2>
          {stats.upcoming.length === 0 ? (
            <p>No runs are waiting.</p>
          ) : (
            <div className="table-scroll">
              <table aria-label="Upcoming runs">
                <thead>
                  <tr>
                    <th scope="col">Run</th>
                    <th scope="col">Job</th>
                    <th scope="col">Due</th>
                  </tr>
                </thead>
                <tbody>
                  {stats.upcoming.map((run) => (
                    <tr key={run.id}>
                      <td>
                        <Link to={`/runs/${run.id}`}>{run.id}</Link>
                      </td>
                      <td>{jobName(run.jobId)}</td>
                      <td>{when(run.dueAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}
