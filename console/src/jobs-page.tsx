import { useCallback, useEffect, useState } from 'react';
import { getJson, postJson, type Job, type Page, type Run } from './api';
import { ErrorMessage } from './error-message';
import { Link } from './link';
import { navigate } from './router';

/** The tenant's jobs, each with its last run (from one page of recent runs) and a "Run now" button. */
export function JobsPage({ apiKey }: { apiKey: string }) {
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [lastRuns, setLastRuns] = useState<Map<string, Run>>(new Map());
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [jobPage, runPage] = await Promise.all([
        getJson<Page<Job>>(apiKey, '/v1/jobs?limit=500'),
        getJson<Page<Run>>(apiKey, '/v1/runs?limit=500'),
      ]);
      const last = new Map<string, Run>();
      // Newest first: the first run seen for a job is its last.
      for (const run of runPage.items) if (!last.has(run.jobId)) last.set(run.jobId, run);
      setJobs(jobPage.items);
      setLastRuns(last);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [apiKey]);

  useEffect(() => {
    void load();
  }, [load]);

  const runNow = async (job: Job): Promise<void> => {
    try {
      const run = await postJson<Run>(apiKey, `/v1/jobs/${encodeURIComponent(job.id)}/runs`);
      navigate(`/runs/${run.id}`);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <section>
      <h1>Jobs</h1>
      <ErrorMessage error={error} />
      {jobs === null && error === null && <p>Loading…</p>}
      {jobs !== null && jobs.length === 0 && <p>No jobs yet.</p>}
      {jobs !== null && jobs.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Runs</th>
              <th scope="col">Last run</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((job) => {
              const last = lastRuns.get(job.id);
              return (
                <tr key={job.id}>
                  <td>{job.name}</td>
                  <td>
                    <code>{job.image ?? job.command.join(' ')}</code>
                  </td>
                  <td>
                    {last === undefined ? (
                      '—'
                    ) : (
                      <Link to={`/runs/${last.id}`}>
                        <span className={`status status-${last.status}`}>{last.status}</span>
                      </Link>
                    )}
                  </td>
                  <td>
                    <button type="button" aria-label="Run now" onClick={() => void runNow(job)}>
                      Run now
                    </button>{' '}
                    <Link to={`/schedules?jobId=${encodeURIComponent(job.id)}`}>Schedules</Link>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
