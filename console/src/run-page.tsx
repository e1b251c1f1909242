import { useEffect, useState } from 'react';
import { followLog, getJson, send, TERMINAL, type Run } from './api';
import { ErrorMessage } from './error-message';
import { Link } from './link';

const POLL_MS = 1000;

/**
 * One run: its status, polled until it ends, and its log, followed live while the run goes on. When the
 * run has ended the log is read once more in full, so that nothing the stream missed is left out.
 */
export function RunPage({ apiKey, runId }: { apiKey: string; runId: string }) {
  const [run, setRun] = useState<Run | null>(null);
  const [log, setLog] = useState('');
  const [error, setError] = useState<string | null>(null);
  const ended = run !== null && TERMINAL.has(run.status);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async (): Promise<void> => {
      try {
        const next = await getJson<Run>(apiKey, `/v1/runs/${encodeURIComponent(runId)}`);
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
  }, [apiKey, runId]);

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

  return (
    <section>
      <p>
        <Link to="/jobs">← Jobs</Link>
      </p>
      <h1>Run {runId}</h1>
      <ErrorMessage error={error} />
      {run !== null && (
        <dl className="run-facts">
          <dt>Status</dt>
          <dd>
            <span className={`status status-${run.status}`} data-testid="run-status">
              {run.status}
            </span>
          </dd>
          <dt>Exit code</dt>
          <dd>{run.exitCode ?? '—'}</dd>
          {run.reason != null && (
            <>
              <dt>Reason</dt>
              <dd>{run.reason}</dd>
            </>
          )}
          <dt>Created</dt>
          <dd>{new Date(run.createdAt).toLocaleString()}</dd>
        </dl>
      )}
      <h2>Log</h2>
      <pre className="log" aria-label="Log" aria-live="polite">
        {log === '' ? (ended ? '(no output)' : '') : log}
      </pre>
    </section>
  );
}
