import { useState, type FormEvent } from 'react';
import type { CatchupMode, CreateScheduleInput, OverlapPolicy, Schedule } from './api';
import { ErrorMessage } from './error-message';

const OVERLAP: readonly [OverlapPolicy, string][] = [
  ['allow', 'Allow: run alongside an earlier run'],
  ['skip', 'Skip the tick while an earlier run goes on'],
  ['buffer_one', 'Buffer one: wait for the earlier run'],
  ['replace', 'Replace: cancel the earlier run'],
];

const CATCHUP: readonly [CatchupMode, string][] = [
  ['latest', 'Latest: run the most recent missed tick'],
  ['all', 'All: run each missed tick'],
  ['skip', 'Skip: run none of the missed ticks'],
];

/**
 * The fields of a schedule's timing and policies, for creating one or changing one. `save` gets the input
 * the API takes and answers its error message, which the form shows; on success the caller moves on.
 */
export function ScheduleForm({
  initial,
  submitLabel,
  save,
}: {
  initial: Schedule | null;
  submitLabel: string;
  save: (input: CreateScheduleInput) => Promise<void>;
}) {
  const [kind, setKind] = useState<'cron' | 'every'>(initial?.every != null ? 'every' : 'cron');
  const [cron, setCron] = useState(initial?.cron ?? '');
  const [every, setEvery] = useState(initial?.every ?? '');
  const [timezone, setTimezone] = useState(initial?.timezone ?? 'UTC');
  const [overlap, setOverlap] = useState<OverlapPolicy>(initial?.overlapPolicy ?? 'allow');
  const [catchup, setCatchup] = useState<CatchupMode>(initial?.catchup.mode ?? 'latest');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const timing =
      kind === 'cron' ? { cron: cron.trim(), timezone: timezone.trim() } : { every: every.trim() };
    try {
      await save({ ...timing, overlapPolicy: overlap, catchup: { mode: catchup } });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="schedule-form" onSubmit={submit}>
      <fieldset>
        <legend>Timing</legend>
        <label>
          <input type="radio" name="kind" checked={kind === 'cron'} onChange={() => setKind('cron')} /> Cron
          expression
        </label>
        <label>
          <input type="radio" name="kind" checked={kind === 'every'} onChange={() => setKind('every')} /> A
          fixed interval
        </label>
      </fieldset>
      {kind === 'cron' ? (
        <>
          <label htmlFor="schedule-cron">Cron</label>
          <input
            id="schedule-cron"
            required
            placeholder="30 2 * * *"
            value={cron}
            onChange={(e) => setCron(e.target.value)}
          />
          <label htmlFor="schedule-timezone">Time zone</label>
          <input
            id="schedule-timezone"
            required
            placeholder="Europe/Berlin"
            value={timezone}
            onChange={(e) => setTimezone(e.target.value)}
          />
        </>
      ) : (
        <>
          <label htmlFor="schedule-every">Every</label>
          <input
            id="schedule-every"
            required
            placeholder="15m"
            value={every}
            onChange={(e) => setEvery(e.target.value)}
          />
        </>
      )}
      <label htmlFor="schedule-overlap">Overlap policy</label>
      <select
        id="schedule-overlap"
        value={overlap}
        onChange={(e) => setOverlap(e.target.value as OverlapPolicy)}
      >
        {OVERLAP.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
      <label htmlFor="schedule-catchup">Catch-up</label>
      <select
        id="schedule-catchup"
        value={catchup}
        onChange={(e) => setCatchup(e.target.value as CatchupMode)}
      >
        {CATCHUP.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
      <div>
        <button type="submit" disabled={busy}>
          {submitLabel}
        </button>
      </div>
      <ErrorMessage error={error} />
    </form>
  );
}
