// The first events of a tick's run, which every store adapter records the same way: `created` names the tick
// and its schedule (and says when it was caught up late), and a run fired in bulk does not store its first
// two events at all — created, then dispatched, both at its creation, as attempt 1 and queued — since its row
// implies them. Here so that the words and the implied timeline cannot differ between stores.

import type { RunEvent } from './run.js';

/** The `created` event's detail of a tick's run: which tick of which schedule, and whether it came late. */
export function tickCreatedDetail(scheduleId: string, nominalTime: number, late: boolean): string {
  const tick = `tick ${new Date(nominalTime).toISOString()} of schedule ${scheduleId}`;
  return late ? `${tick}, caught up late (missed while no scheduler held it)` : tick;
}

/** The events a tick's run fired in bulk did not store, in order. */
export function impliedTickEvents(run: {
  scheduleId: string;
  nominalTime: number;
  late: boolean;
  createdAt: number;
}): RunEvent[] {
  const detail = tickCreatedDetail(run.scheduleId, run.nominalTime, run.late);
  const at = run.createdAt;
  return [
    { at, type: 'created', attempt: 1, status: 'queued', detail },
    { at, type: 'dispatched', attempt: 1, status: 'queued', detail: null },
  ];
}
