// When a run's message reaches the queue. A queue carries only work that is about to run: a message waits in
// it at most QUEUE_HORIZON_MS before its `availableAt` (no message waits there for a year, which no broker's
// dedup window or retention is made for). A run available later — a one-off run for tomorrow, a retry with a
// long backoff — stays in the store, queued but not dispatched, until the dispatch sweep
// (services/run-dispatcher.ts) publishes it as its time comes. The store is the outbox: a run dispatched
// but not claimed for REDISPATCH_AFTER_MS (its message lost with a crashed process or a queue that
// forgot) is published again; claims are fenced by attempt, so a second copy never runs it twice.

/** A message is published at most this long before it is available. */
export const QUEUE_HORIZON_MS = 2_000;

/** How often the dispatch sweep runs: well within the horizon, so a run is published before it is due. */
export const DISPATCH_SWEEP_INTERVAL_MS = 250;

/** A dispatched run still queued this long after is published again. */
export const REDISPATCH_AFTER_MS = 60_000;

/** Whether a run available at `availableAt` is published now, or left to the sweep. */
export function reachesQueueNow(availableAt: number, now: number): boolean {
  return availableAt - now <= QUEUE_HORIZON_MS;
}
