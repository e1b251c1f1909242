// Hourglass side of bench/scheduler-peers: N schedules of `* * * * * *` on the scheduler engine (SQLite on disk,
// synchronous=FULL firing, in-process queue), drained by a consumer that does what a worker does before it
// starts a process: it takes the run from the queue, claims it in the store, and waits for the run's due time
// (pre-dispatch). "Processing began" is that moment — no process is spawned, as on the BullMQ side.

import { randomBytes } from 'node:crypto';
import { newId } from '../../src/core/ids.js';
import {
  createTickLedger,
  type SchedulerPeerOptions,
  type SchedulerPeerResult,
  type TickLedger,
} from '../stats.js';
import { LEAD_MS, openEngineWorld } from './engine-world.js';

const DRAIN_TIMEOUT_MS = 15_000;

export async function runHourglassSchedulers(options: SchedulerPeerOptions): Promise<SchedulerPeerResult> {
  let ledger: TickLedger | undefined;
  const workerId = newId('worker', Date.now(), randomBytes);
  let unclaimed = 0;
  const world = await openEngineWorld({
    schedules: options.schedules,
    cron: '* * * * * *',
    async consume(message, store) {
      const claimed = await store.claimRun(message.runId, message.attempt, workerId, Date.now());
      if (claimed === null) {
        unclaimed++;
        return;
      }
      const { run } = claimed;
      const record = (): void => ledger?.record(run.scheduleId ?? '', run.nominalTime, Date.now());
      const wait = run.dueAt - Date.now();
      if (wait > 0) setTimeout(record, wait);
      else record();
    },
  });
  try {
    const createdAt = Date.now();
    await world.engine.start();
    const loadMs = Date.now() - createdAt;
    const windowStart = Math.ceil((Date.now() + options.warmupSeconds * 1000) / 1000) * 1000;
    const counting = createTickLedger({
      schedules: options.schedules,
      seconds: options.seconds,
      windowStart,
    });
    await sleepUntil(windowStart);
    ledger = counting;
    await sleepUntil(counting.windowEnd);
    const drainDeadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (counting.drainedSchedules() < options.schedules && Date.now() < drainDeadline) {
      await sleepUntil(Date.now() + 100);
    }
    const notes =
      `cron '* * * * * *' (second-aligned), lead ${LEAD_MS} ms; consumer claims each run in SQLite and ` +
      `waits for its due time (lag to that moment, no process spawned); ${options.schedules} schedules ` +
      `loaded and started in ${loadMs} ms; drained ${counting.drainedSchedules()}/${options.schedules}` +
      (unclaimed > 0 ? `; ${unclaimed} runs could not be claimed` : '');
    return counting.result('hourglass (embedded: SQLite, in-process queue)', notes);
  } finally {
    await world.close();
  }
}

function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}
