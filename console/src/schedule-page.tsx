import { useCallback, useEffect, useState } from 'react';
import { getJson, type Job, type PreviewFire, type Run, type Schedule, type TicksPage } from './api';
import { ErrorMessage } from './error-message';
import { Link } from './link';
import { navigate } from './router';
import { ScheduleForm } from './schedule-form';
import { describeTiming, dstText, localTime, verdictText } from './schedule-text';
import {
  deleteSchedule,
  explainTicks,
  getSchedule,
  pauseSchedule,
  previewSchedule,
  resumeSchedule,
  runScheduleNow,
  updateSchedule,
} from './schedules-api';

const PREVIEW_COUNT = 5;

/**
 * One schedule: its timing in words, its next ticks (the preview, with daylight-saving notes), pause and
 * resume, a run by hand, edit and delete, and the verdicts of its ticks of the last hour.
 */
export function SchedulePage({ apiKey, scheduleId }: { apiKey: string; scheduleId: string }) {
  const [schedule, setSchedule] = useState<Schedule | null>(null);
  const [jobName, setJobName] = useState<string | null>(null);
  const [fires, setFires] = useState<PreviewFire[]>([]);
  const [ticks, setTicks] = useState<TicksPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [manualRun, setManualRun] = useState<Run | null>(null);
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);

  const load = useCallback(async () => {
    try {
      const [next, preview, explained] = await Promise.all([
        getSchedule(apiKey, scheduleId),
        previewSchedule(apiKey, scheduleId, PREVIEW_COUNT),
        explainTicks(apiKey, scheduleId),
      ]);
      setSchedule(next);
      setFires(preview);
      // The name is for the reader only: a job read that fails leaves the id showing.
      getJson<Job>(apiKey, `/v1/jobs/${encodeURIComponent(next.jobId)}`)
        .then((job) => setJobName(job.name))
        .catch(() => setJobName(null));
      setTicks(explained);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [apiKey, scheduleId]);

  useEffect(() => {
    void load();
  }, [load]);

  const act = async (work: () => Promise<unknown>): Promise<void> => {
    try {
      await work();
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const remove = async (): Promise<void> => {
    try {
      await deleteSchedule(apiKey, scheduleId);
      navigate(schedule === null ? '/schedules' : `/schedules?jobId=${encodeURIComponent(schedule.jobId)}`);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <section>
      <p>
        <Link to="/schedules">← Schedules</Link>
      </p>
      <h1>Schedule {scheduleId}</h1>
      <ErrorMessage error={error} />
      {schedule !== null && (
        <>
          <p className="schedule-description" data-testid="schedule-description">
            {describeTiming(schedule)}
          </p>
          <dl className="run-facts">
            <dt>Job</dt>
            <dd>
              <Link to={`/schedules?jobId=${encodeURIComponent(schedule.jobId)}`}>
                {jobName ?? schedule.jobId}
              </Link>
            </dd>
            <dt>Timing</dt>
            <dd>
              <code>{schedule.cron ?? `every ${schedule.every ?? ''}`}</code>
            </dd>
            <dt>Time zone</dt>
            <dd>{schedule.timezone ?? 'UTC (an interval does not follow a wall clock)'}</dd>
            <dt>Overlap policy</dt>
            <dd>{schedule.overlapPolicy}</dd>
            <dt>Catch-up</dt>
            <dd>{schedule.catchup.mode}</dd>
            <dt>Status</dt>
            <dd data-testid="schedule-status">{schedule.paused ? 'Paused' : 'Active'}</dd>
            <dt>Next run</dt>
            <dd data-testid="schedule-next">
              {schedule.nextFireAt === null
                ? schedule.paused
                  ? 'None while paused'
                  : 'None'
                : localTime(schedule.nextFireAt)}
            </dd>
          </dl>
          <div className="toolbar">
            {schedule.paused ? (
              <button type="button" onClick={() => void act(() => resumeSchedule(apiKey, scheduleId))}>
                Resume
              </button>
            ) : (
              <button type="button" onClick={() => void act(() => pauseSchedule(apiKey, scheduleId))}>
                Pause
              </button>
            )}
            <button
              type="button"
              onClick={() => void act(async () => setManualRun(await runScheduleNow(apiKey, scheduleId)))}
            >
              Run this tick now
            </button>
            <button type="button" aria-expanded={editing} onClick={() => setEditing(!editing)}>
              Edit
            </button>
            {!confirmDelete ? (
              <button type="button" onClick={() => setConfirmDelete(true)}>
                Delete
              </button>
            ) : (
              <span role="group" aria-label="Confirm delete">
                Delete this schedule? Its runs stay readable.{' '}
                <button type="button" onClick={() => void remove()}>
                  Yes, delete
                </button>{' '}
                <button type="button" onClick={() => setConfirmDelete(false)}>
                  Cancel
                </button>
              </span>
            )}
          </div>
          {manualRun !== null && (
            <p role="status">
              Started <Link to={`/runs/${manualRun.id}`}>run {manualRun.id}</Link> by hand; the next tick
              stays as it was.
            </p>
          )}
          {editing && (
            <ScheduleForm
              initial={schedule}
              submitLabel="Save changes"
              save={async (input) => {
                await updateSchedule(apiKey, scheduleId, input);
                setEditing(false);
                await load();
              }}
            />
          )}
          <h2>Next runs</h2>
          {/* The preview is of the timing alone: a paused schedule runs none of those ticks. */}
          {schedule.paused || fires.length === 0 ? (
            <p>{schedule.paused ? 'None: the schedule is paused.' : 'None: the schedule has ended.'}</p>
          ) : (
            <div className="table-scroll">
              <table aria-label="Next runs">
                <thead>
                  <tr>
                    <th scope="col">Time (UTC)</th>
                    <th scope="col">Local time ({schedule.timezone ?? 'UTC'})</th>
                    <th scope="col">Daylight saving</th>
                  </tr>
                </thead>
                <tbody>
                  {fires.map((fire) => (
                    <tr key={fire.at}>
                      <td data-testid="fire-at">{fire.at}</td>
                      <td>{fire.localTime}</td>
                      <td>{dstText(fire.dst) ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <h2>Recent decisions</h2>
          {ticks !== null && ticks.items.length === 0 && <p>No ticks in the last hour.</p>}
          {ticks !== null && ticks.items.length > 0 && (
            <div className="table-scroll">
              <table aria-label="Recent decisions">
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Decision</th>
                    <th scope="col">Run</th>
                    <th scope="col">Why</th>
                  </tr>
                </thead>
                <tbody>
                  {ticks.items.map((tick) => (
                    <tr key={`${tick.nominalTime}-${tick.runId ?? ''}`}>
                      <td>{tick.localTime}</td>
                      <td className={`verdict verdict-${tick.verdict}`}>{verdictText(tick.verdict)}</td>
                      <td>
                        {tick.runId === null ? (
                          '—'
                        ) : (
                          <Link to={`/runs/${tick.runId}`}>{tick.runStatus ?? 'run'}</Link>
                        )}
                      </td>
                      <td>{[tick.reason, dstText(tick.dst)].filter((x) => x !== null).join('. ')}</td>
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
