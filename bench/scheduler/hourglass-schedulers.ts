// Hourglass side of bench/scheduler-peers: N schedules of `* * * * * *` on the scheduler engine (SQLite on disk,
// synchronous=FULL firing, in-process queue), drained by a consumer that takes each run from the queue and
// waits for its due time (pre-dispatch), as a worker does before it starts the process. "Processing began" is
// that moment — no process is spawned, as on the BullMQ side. The worker's claim (one more SQLite write per
// run, on the same single thread as the firing) is left out: at 10,000 runs/s the two together exceed what
// one SQLite connection writes on this machine; the claim's cost is part of bench/run-now.

import { timeOfId } from '../../src/core/ids.js';
import {
  measureWindow,
  type SchedulerPeerOptions,
  type SchedulerPeerResult,
  type TickLedger,
} from '../stats.js';
import { LEAD_MS, openEngineWorld } from './engine-world.js';

export async function runHourglassSchedulers(options: SchedulerPeerOptions): Promise<SchedulerPeerResult> {
  let ledger: TickLedger | undefined;
  const world = await openEngineWorld({
    schedules: options.schedules,
    cron: '* * * * * *',
    consume(message) {
      const nominal = timeOfId(message.runId); // a scheduled run's id carries its tick (no jitter here)
      // Keyed by run id, which is one per (schedule, tick): each key has one slot, so the ledger counts the
      // same missed and repeated ticks as per schedule, without reading which schedule a run belongs to.
      const record = (): void => ledger?.record(message.runId, nominal, Date.now());
      const wait = nominal - Date.now();
      if (wait > 0) setTimeout(record, wait);
      else record();
    },
  });
  try {
    const createdAt = Date.now();
    await world.engine.start();
    const loadMs = Date.now() - createdAt;
    const counting = await measureWindow(options, (opened) => (ledger = opened));
    const notes =
      `cron '* * * * * *' (second-aligned), lead ${LEAD_MS} ms; consumer takes each run from the queue and ` +
      `waits for its due time (lag to that moment; no read, no claim, no process spawned); ${options.schedules} ` +
      `schedules loaded and started in ${loadMs} ms; drained ${counting.drainedSchedules()}/${options.schedules}`;
    return counting.result('hourglass (embedded: SQLite, in-process queue)', notes);
  } finally {
    await world.close();
  }
}
