import { useEffect, useState } from 'react';
import { followLog, send, TERMINAL, type RunDetail } from './api';
import { ErrorMessage } from './error-message';
import { useJobNames } from './job-names';
import { formatMs } from './lag-histogram';
import { Link } from './link';
import { navigate } from './router';
import { cancelRun, getRunDetail, rerun } from './runs-api';

const POLL_MS = 1000;

const when = (iso: string | null): string => (iso === null ? '—' : new Date(iso).toLocaleString());
// A timeline's events are often milliseconds apart: its times show them.
const EVENT_TIME: Intl.DateTimeFormatOptions = {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  fractionalSecondDigits: 3,
};

/**
 * One run: its status and timeline, polled until it ends, and its log, followed live while the run goes on.
 * When the run has ended the log is read once more in full, so that nothing the stream missed is left out.
 * A run not yet ended can be cancelled; an ended one run again, as a new run of its job with its args and env.
 */
export function RunPage({ apiKey, runId }: { apiKey: string; runId: string }) {
  const [run, setRun] = useState<RunDetail | null>(null);
  const [log, setLog] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Bumped by a cancel, so that the poll (stopped at nothing yet) reads the run again at once.
  const [refresh, setRefresh] = useState(0);
  const jobName = useJobNames(apiKey);
  const ended = run !== null && TERMINAL.has(run.status);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async (): Promise<void> => {
      try {
        const next = await getRunDetail(apiKey, runId);
        if (stopped) return;
        setRun(next);
        setError(null);
        if (TERMINAL.has(next.status)) return;
      } catch (e) {
        if (stopped) return;
        setError((e as Error).message);
      }
      timer = setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [apiKey, runId, refresh]);

  useEffect(() => {
    const abort = new AbortController();
    setLog('');
    followLog(apiKey, runId, (text) => setLog((previous) => previous + text), abort.signal).catch(
      (e: Error) => {
        if (!abort.signal.aborted) setError(e.message);
      },
    );
    return () => abort.abort();
  }, [apiKey, runId]);

  useEffect(() => {
    if (!ended) return;
    let stopped = false;
    send(apiKey, 'GET', `/v1/runs/${encodeURIComponent(runId)}/logs`)
      .then((response) => response.text())
      .then((text) => {
        if (!stopped) setLog(text);
      })
      .catch((e: Error) => {
        if (!stopped) setError(e.message);
      });
    return () => {
      stopped = true;
    };
  }, [apiKey, runId, ended]);

  const act = async (action: () => Promise<void>): Promise<void> => {
    setBusy(true);
    try {
      await action();
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const cancel = (): Promise<void> =>
    act(async () => {
      await cancelRun(apiKey, runId);
      setRefresh((n) => n + 1);
    });
  const runAgain = (): Promise<void> =>
    act(async () => {
      if (run === null) return;
      const created = await rerun(apiKey, run);
      navigate(`/runs/${created.id}`);
    });

  return (
    <section>
      <p>
        <Link to="/runs">← Runs</Link>
      </p>
      <h1>Run {runId}</h1>
      <ErrorMessage error={error} />
      {run !== null && (
        <>
          <div className="actions">
            {!ended && (
              <button type="button" onClick={() => void cancel()} disabled={busy}>
                Cancel run
              </button>
            )}
            {ended && (
              <button type="button" onClick={() => void runAgain()} disabled={busy}>
                Re-run
              </button>
            )}
          </div>
          <dl className="run-facts">
            <dt>Status</dt>
            <dd>
              <span className={`status status-${run.status}`} data-testid="run-status">
                {run.status}
              </span>
            </dd>
            <dt>Exit code</dt>
            <dd data-testid="run-exit-code">{run.exitCode ?? '—'}</dd>
            <dt>Reason</dt>
            <dd data-testid="run-reason">{run.reason ?? '—'}</dd>
            <dt>Job</dt>
            <dd>
              <Link to={`/runs?job=${encodeURIComponent(run.jobId)}`}>{jobName(run.jobId)}</Link>
              {' · '}
              <Link to={`/jobs/${encodeURIComponent(run.jobId)}/edit`}>Edit job</Link>
            </dd>
            {run.scheduleId !== null && (
              <>
                <dt>Schedule</dt>
                <dd>
                  <Link to={`/schedules/${encodeURIComponent(run.scheduleId)}`}>{run.scheduleId}</Link>
                  {' · '}
                  <Link to={`/runs?schedule=${encodeURIComponent(run.scheduleId)}`}>Its runs</Link>
                </dd>
              </>
            )}
            <dt>Attempt</dt>
            <dd>{run.attempt}</dd>
            <dt>Lag</dt>
            <dd data-testid="run-lag">{formatMs(run.lagMs)}</dd>
            <dt>Image digest</dt>
            <dd>{run.imageDigest === null ? '—' : <code>{run.imageDigest}</code>}</dd>
            <dt>Created</dt>
            <dd>{when(run.createdAt)}</dd>
            <dt>Due</dt>
            <dd>{when(run.dueAt)}</dd>
            <dt>Started</dt>
            <dd>{when(run.startedAt)}</dd>
            <dt>Finished</dt>
            <dd>{when(run.finishedAt)}</dd>
          </dl>
          <h2>Timeline</h2>
          <div className="table-scroll">
            <table aria-label="Timeline">
              <thead>
                <tr>
                  <th scope="col">At</th>
                  <th scope="col">Event</th>
                  <th scope="col">Attempt</th>
                  <th scope="col">Status</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {run.timeline.map((event, i) => (
                  <tr key={i}>
                    <td>{new Date(event.at).toLocaleString(undefined, EVENT_TIME)}</td>
                    <td>{event.type}</td>
                    <td>{event.attempt}</td>
                    <td>{event.status}</td>
                    <td>{event.detail ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <h2>Log</h2>
      <pre className="log" aria-label="Log" aria-live="polite">
        {log === '' ? (ended ? '(no output)' : '') : log}
      </pre>
    </section>
  );
}
