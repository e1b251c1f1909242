// The runs page's filters as a form: job, schedule id, one status or "Failures only", and a creation time
// range. Times are entered in the browser's local time and kept (in the URL, and sent) as ISO 8601 UTC.
import { useEffect, useState, type FormEvent } from 'react';
import { getJson, RUN_STATUSES, type Job, type Page } from './api';

export interface RunsFilter {
  job: string;
  schedule: string;
  status: string;
  failuresOnly: boolean;
  /** ISO 8601, or '' for none. */
  from: string;
  to: string;
}

/** An ISO instant as a datetime-local value (local time, to the minute); '' when it is not one. */
function localOf(iso: string): string {
  const ms = Date.parse(iso);
  if (iso === '' || !Number.isFinite(ms)) return '';
  const local = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** A datetime-local value as ISO 8601 UTC; '' stays ''. */
function isoOf(local: string): string {
  if (local === '') return '';
  const ms = new Date(local).getTime();
  return Number.isFinite(ms) ? new Date(ms).toISOString() : local;
}

export function RunsFilterForm({
  apiKey,
  initial,
  onApply,
}: {
  apiKey: string;
  initial: RunsFilter;
  onApply: (filter: RunsFilter, event: FormEvent) => void;
}) {
  const [filter, setFilter] = useState(initial);
  const [from, setFrom] = useState(localOf(initial.from));
  const [to, setTo] = useState(localOf(initial.to));
  const [jobs, setJobs] = useState<Job[]>([]);
  useEffect(() => {
    let stopped = false;
    getJson<Page<Job>>(apiKey, '/v1/jobs?limit=500')
      .then((page) => {
        if (!stopped) setJobs(page.items);
      })
      // Without the list the job is still given by the URL; the page reports its own errors.
      .catch(() => {});
    return () => {
      stopped = true;
    };
  }, [apiKey]);
  const change = (patch: Partial<RunsFilter>): void => setFilter((before) => ({ ...before, ...patch }));
  const jobKnown = filter.job === '' || jobs.some((job) => job.id === filter.job);

  return (
    <form
      className="filters"
      aria-label="Filter runs"
      onSubmit={(event) => onApply({ ...filter, from: isoOf(from), to: isoOf(to) }, event)}
    >
      <label>
        Job
        <select value={filter.job} onChange={(e) => change({ job: e.target.value })}>
          <option value="">All jobs</option>
          {!jobKnown && <option value={filter.job}>{filter.job}</option>}
          {jobs.map((job) => (
            <option key={job.id} value={job.id}>
              {job.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Schedule id
        <input value={filter.schedule} onChange={(e) => change({ schedule: e.target.value.trim() })} />
      </label>
      <label>
        Status
        <select
          value={filter.failuresOnly ? '' : filter.status}
          disabled={filter.failuresOnly}
          onChange={(e) => change({ status: e.target.value })}
        >
          <option value="">Any status</option>
          {RUN_STATUSES.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={filter.failuresOnly}
          onChange={(e) => change({ failuresOnly: e.target.checked })}
        />
        Failures only
      </label>
      <label>
        Created from
        <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
      </label>
      <label>
        Created before
        <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
      </label>
      <button type="submit">Apply filters</button>
    </form>
  );
}
