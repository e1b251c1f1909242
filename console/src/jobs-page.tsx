import { useCallback, useEffect, useState } from 'react';
import { getJson, postJson, type Job, type Page, type Run } from './api';
import { ErrorMessage } from './error-message';
import { Link } from './link';
import { navigate } from './router';
import { deleteJob } from './runs-api';

/**
 * The tenant's jobs, each with its last run (from one page of recent runs; for an image job, the digest it
 * ran), a "Run now" button, an edit link, and delete behind a confirm step.
 */
export function JobsPage({ apiKey }: { apiKey: string }) {
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [lastRuns, setLastRuns] = useState<Map<string, Run>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);

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

  const remove = async (job: Job): Promise<void> => {
    try {
      await deleteJob(apiKey, job.id);
      setConfirming(null);
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <section>
      <h1>Jobs</h1>
      <p>
        <Link to="/jobs/new">New job</Link>
      </p>
      <ErrorMessage error={error} />
      {jobs === null && error === null && <p>Loading…</p>}
      {jobs !== null && jobs.length === 0 && <p>No jobs yet.</p>}
      {jobs !== null && jobs.length > 0 && (
        <div className="table-scroll">
          <table aria-label="Jobs">
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
                        <>
                          <Link to={`/runs/${last.id}`}>
                            <span className={`status status-${last.status}`}>{last.status}</span>
                          </Link>
                          {job.image !== null && last.imageDigest !== null && (
                            <>
                              {' '}
                              <code className="digest" title={last.imageDigest}>
                                {last.imageDigest}
                              </code>
                            </>
                          )}
                        </>
                      )}
                    </td>
                    <td>
                      <div className="row-actions">
                        <button type="button" aria-label="Run now" onClick={() => void runNow(job)}>
                          Run now
                        </button>
                        <Link to={`/jobs/${encodeURIComponent(job.id)}/edit`} label={`Edit ${job.name}`}>
                          Edit
                        </Link>
                        <Link to={`/schedules?jobId=${encodeURIComponent(job.id)}`}>Schedules</Link>
                        {confirming === job.id ? (
                          <span role="group" aria-label={`Delete ${job.name}?`}>
                            Delete {job.name}?{' '}
                            <button type="button" onClick={() => void remove(job)}>
                              Yes, delete
                            </button>{' '}
                            <button type="button" onClick={() => setConfirming(null)}>
                              Keep it
                            </button>
                          </span>
                        ) : (
                          <button
                            type="button"
                            aria-label={`Delete ${job.name}`}
                            onClick={() => setConfirming(job.id)}
                          >
                            Delete
                          </button>
                        )}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
