import { useEffect, useState } from 'react';
import { getJson, type Job, type Page } from './api';
import { ErrorMessage } from './error-message';
import { Link } from './link';
import { navigate } from './router';
import { ScheduleForm } from './schedule-form';
import { createSchedule } from './schedules-api';
import { useSearchParam } from './search-param';

/** Creates a schedule of a job (`?jobId=` picks it) and opens it. */
export function NewSchedulePage({ apiKey }: { apiKey: string }) {
  const wanted = useSearchParam('jobId');
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [jobId, setJobId] = useState<string>(wanted ?? '');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    getJson<Page<Job>>(apiKey, '/v1/jobs?limit=500')
      .then((page) => {
        setJobs(page.items);
        const match = page.items.find((job) => job.id === wanted || job.name === wanted) ?? page.items[0];
        setJobId(match?.id ?? '');
      })
      .catch((e: Error) => setError(e.message));
  }, [apiKey, wanted]);

  return (
    <section>
      <p>
        <Link to="/schedules">← Schedules</Link>
      </p>
      <h1>New schedule</h1>
      <ErrorMessage error={error} />
      {jobs !== null && jobs.length === 0 && <p>There are no jobs to schedule yet.</p>}
      {jobs !== null && jobs.length > 0 && (
        <>
          <label htmlFor="new-schedule-job">Job</label>
          <select id="new-schedule-job" value={jobId} onChange={(e) => setJobId(e.target.value)}>
            {jobs.map((job) => (
              <option key={job.id} value={job.id}>
                {job.name}
              </option>
            ))}
          </select>
          <ScheduleForm
            initial={null}
            submitLabel="Create schedule"
            save={async (input) => {
              const schedule = await createSchedule(apiKey, jobId, input);
              navigate(`/schedules/${schedule.id}`);
            }}
          />
        </>
      )}
    </section>
  );
}
