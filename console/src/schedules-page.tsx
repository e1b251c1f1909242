import { useCallback, useEffect, useState } from 'react';
import { getJson, type Job, type Page, type Schedule, type ScheduleSelection } from './api';
import { ErrorMessage } from './error-message';
import { Link } from './link';
import { navigate } from './router';
import { describeTiming, localTime } from './schedule-text';
import { changeSchedules, listSchedules } from './schedules-api';
import { useSearchParam } from './search-param';

/**
 * The tenant's schedules, or one job's (`?jobId=`): each with its timing in words and its next run, a
 * checkbox to pause or resume a selection at once, and, on a job's list, its whole set at once.
 */
export function SchedulesPage({ apiKey }: { apiKey: string }) {
  const jobId = useSearchParam('jobId');
  const [schedules, setSchedules] = useState<Schedule[] | null>(null);
  const [jobs, setJobs] = useState<Job[]>([]);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [list, jobPage] = await Promise.all([
        listSchedules(apiKey, jobId),
        getJson<Page<Job>>(apiKey, '/v1/jobs?limit=500'),
      ]);
      setSchedules(list);
      setJobs(jobPage.items);
      setError(null);
    } catch (e) {
      setSchedules(null);
      setError((e as Error).message);
    }
  }, [apiKey, jobId]);

  useEffect(() => {
    setSelected(new Set());
    void load();
  }, [load]);

  const jobName = (id: string): string => jobs.find((job) => job.id === id)?.name ?? id;
  const filterJob = jobs.find((job) => job.id === jobId || job.name === jobId);

  const change = async (action: 'pause' | 'resume', selection: ScheduleSelection): Promise<void> => {
    setNotice(null);
    try {
      const changed = await changeSchedules(apiKey, action, selection);
      setNotice(`${action === 'pause' ? 'Paused' : 'Resumed'} ${changed.length} schedule(s).`);
      setSelected(new Set());
      setError(null);
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const toggle = (id: string, on: boolean): void => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };

  const ids = [...selected];
  return (
    <section>
      <h1>Schedules{filterJob !== undefined ? ` of ${filterJob.name}` : ''}</h1>
      <div className="toolbar">
        <label htmlFor="schedules-job">Job</label>
        <select
          id="schedules-job"
          value={filterJob?.id ?? ''}
          onChange={(e) =>
            navigate(
              e.target.value === '' ? '/schedules' : `/schedules?jobId=${encodeURIComponent(e.target.value)}`,
            )
          }
        >
          <option value="">All jobs</option>
          {jobs.map((job) => (
            <option key={job.id} value={job.id}>
              {job.name}
            </option>
          ))}
        </select>
        {filterJob !== undefined && (
          <Link to={`/schedules/new?jobId=${encodeURIComponent(filterJob.id)}`}>New schedule</Link>
        )}
        {filterJob === undefined && <Link to="/schedules/new">New schedule</Link>}
      </div>
      <ErrorMessage error={error} />
      {notice !== null && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <div className="toolbar">
        <button
          type="button"
          disabled={ids.length === 0}
          onClick={() => void change('pause', { scheduleIds: ids })}
        >
          Pause selected
        </button>
        <button
          type="button"
          disabled={ids.length === 0}
          onClick={() => void change('resume', { scheduleIds: ids })}
        >
          Resume selected
        </button>
        {filterJob !== undefined && (
          <>
            <button type="button" onClick={() => void change('pause', { jobId: filterJob.id })}>
              Pause all of this job’s schedules
            </button>
            <button type="button" onClick={() => void change('resume', { jobId: filterJob.id })}>
              Resume all of this job’s schedules
            </button>
          </>
        )}
      </div>
      {schedules === null && error === null && <p>Loading…</p>}
      {schedules !== null && schedules.length === 0 && <p>No schedules.</p>}
      {schedules !== null && schedules.length > 0 && (
        <div className="table-scroll">
          <table className="schedules">
            <thead>
              <tr>
                <th scope="col">
                  <span className="visually-hidden">Select</span>
                </th>
                <th scope="col">Schedule</th>
                <th scope="col">Job</th>
                <th scope="col">Timing</th>
                <th scope="col">Next run</th>
              </tr>
            </thead>
            <tbody>
              {schedules.map((schedule) => (
                <tr key={schedule.id}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select schedule ${schedule.id}`}
                      checked={selected.has(schedule.id)}
                      onChange={(e) => toggle(schedule.id, e.target.checked)}
                    />
                  </td>
                  <td>
                    <Link to={`/schedules/${schedule.id}`}>{schedule.id}</Link>
                  </td>
                  <td>{jobName(schedule.jobId)}</td>
                  <td>{describeTiming(schedule)}</td>
                  <td data-testid="next-run">
                    {schedule.paused ? (
                      <span className="status status-paused">Paused</span>
                    ) : schedule.nextFireAt === null ? (
                      'Ended'
                    ) : (
                      localTime(schedule.nextFireAt)
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
