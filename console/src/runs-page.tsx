// The tenant's runs, newest first, filtered by job, schedule, status ("Failures only": every status a run
// ends in when it went wrong) and creation time. The filters and the page's cursor live in the URL query,
// so a link reproduces the view; the cursors of the pages before it live in the history entry's state, so
// "Previous page" (and the browser's Back) return to them. Paging is the API's keyset cursor: a page costs
// the same on the millionth run as on the first.
import { useEffect, useState, type FormEvent } from 'react';
import type { Page, Run } from './api';
import { ErrorMessage } from './error-message';
import { useJobNames } from './job-names';
import { Link } from './link';
import { FAILURE_STATUSES, listRuns, type RunsQuery } from './runs-api';
import { RunsFilterForm, type RunsFilter } from './runs-filter-form';
import { useUrlQuery } from './url-query';

const DEFAULT_LIMIT = 50;

/** The filter a URL query names. */
function filterOf(query: URLSearchParams): RunsFilter {
  return {
    job: query.get('job') ?? '',
    schedule: query.get('schedule') ?? '',
    status: query.get('status') ?? '',
    failuresOnly: query.get('failures') === '1',
    from: query.get('from') ?? '',
    to: query.get('to') ?? '',
  };
}

function apiQueryOf(query: URLSearchParams): RunsQuery {
  const filter = filterOf(query);
  const limit = Number(query.get('limit') ?? DEFAULT_LIMIT);
  return {
    jobId: filter.job || undefined,
    scheduleId: filter.schedule || undefined,
    status: filter.failuresOnly ? FAILURE_STATUSES.join(',') : filter.status || undefined,
    from: filter.from || undefined,
    to: filter.to || undefined,
    limit: Number.isInteger(limit) && limit > 0 ? limit : DEFAULT_LIMIT,
    cursor: query.get('cursor') ?? undefined,
  };
}

/** The cursors of the pages before this one (undefined for the first page), from the history entry. */
function previousCursors(): (string | null)[] {
  const state: unknown = window.history.state;
  if (
    typeof state === 'object' &&
    state !== null &&
    Array.isArray((state as { cursors?: unknown }).cursors)
  ) {
    return (state as { cursors: (string | null)[] }).cursors;
  }
  return [];
}

/** Goes to this path with `query` and the stack of earlier cursors kept in the new history entry. */
function go(query: URLSearchParams, cursors: (string | null)[]): void {
  const text = query.toString();
  window.history.pushState({ cursors }, '', window.location.pathname + (text === '' ? '' : `?${text}`));
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function RunsPage({ apiKey }: { apiKey: string }) {
  const query = useUrlQuery();
  const search = query.toString();
  const [page, setPage] = useState<Page<Run> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const jobName = useJobNames(apiKey);

  useEffect(() => {
    let stopped = false;
    setPage(null);
    listRuns(apiKey, apiQueryOf(new URLSearchParams(search)))
      .then((next) => {
        if (stopped) return;
        setPage(next);
        setError(null);
      })
      .catch((e: Error) => {
        if (!stopped) setError(e.message);
      });
    return () => {
      stopped = true;
    };
  }, [apiKey, search]);

  const apply = (filter: RunsFilter): void => {
    const next = new URLSearchParams();
    const set = (name: string, value: string): void => {
      if (value !== '') next.set(name, value);
    };
    set('job', filter.job);
    set('schedule', filter.schedule);
    if (filter.failuresOnly) next.set('failures', '1');
    else set('status', filter.status);
    set('from', filter.from);
    set('to', filter.to);
    const limit = query.get('limit');
    if (limit !== null) next.set('limit', limit);
    go(next, []);
  };

  const cursors = previousCursors();
  const nextPage = (): void => {
    if (page?.nextCursor == null) return;
    const next = new URLSearchParams(search);
    next.set('cursor', page.nextCursor);
    go(next, [...cursors, query.get('cursor')]);
  };
  const previousPage = (): void => {
    const next = new URLSearchParams(search);
    const before = cursors.at(-1);
    if (before === undefined || before === null) next.delete('cursor');
    else next.set('cursor', before);
    go(next, cursors.slice(0, -1));
  };
  const onFirstPage = query.get('cursor') === null;
  // The form starts again from the URL when the filters change (a link, Back), not on every page.
  const filterKey = JSON.stringify(filterOf(query));

  return (
    <section>
      <h1>Runs</h1>
      <RunsFilterForm
        key={filterKey}
        apiKey={apiKey}
        initial={filterOf(query)}
        onApply={(filter: RunsFilter, event: FormEvent) => {
          event.preventDefault();
          apply(filter);
        }}
      />
      <ErrorMessage error={error} />
      {page === null && error === null && <p>Loading…</p>}
      {page !== null && page.items.length === 0 && <p>No runs match.</p>}
      {page !== null && page.items.length > 0 && (
        <div className="table-scroll">
          <table aria-label="Runs">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Run</th>
                <th scope="col">Job</th>
                <th scope="col">Exit code</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((run) => (
                <tr key={run.id} data-run-id={run.id}>
                  <td>
                    <span className={`status status-${run.status}`}>{run.status}</span>
                  </td>
                  <td>
                    <Link to={`/runs/${run.id}`}>{run.id}</Link>
                  </td>
                  <td>{jobName(run.jobId)}</td>
                  <td>{run.exitCode ?? '—'}</td>
                  <td>{new Date(run.createdAt).toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav aria-label="Pages" className="pager">
        <button type="button" onClick={previousPage} disabled={onFirstPage}>
          Previous page
        </button>
        <button type="button" onClick={nextPage} disabled={page?.nextCursor == null}>
          Next page
        </button>
      </nav>
    </section>
  );
}
