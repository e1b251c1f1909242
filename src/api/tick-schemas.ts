// Schemas of a schedule's tick explanations (GET /v1/schedules/{id}/ticks): why each tick did or did not run.

import { Type, type Static } from '@sinclair/typebox';
import { TICK_VERDICTS } from '../core/tick-explanation.js';
import { DstNote, RunStatus, Timestamp } from './schemas.js';

export const TicksQuery = Type.Object(
  {
    from: Type.Optional(
      Type.String({ maxLength: 40, description: 'ISO 8601; default one hour before `to`' }),
    ),
    to: Type.Optional(
      Type.String({
        maxLength: 40,
        description: 'ISO 8601, exclusive; default now; at most 24 h after `from`',
      }),
    ),
  },
  { additionalProperties: false },
);

export const TickVerdict = Type.Union(
  TICK_VERDICTS.map((verdict) => Type.Literal(verdict)),
  {
    description:
      'fired / fired_late (caught up after being missed) / skipped (overlap policy) / outside_window (before startAt, after endAt) / paused / not_yet_due / pending (due, no scheduler has fired it yet) / dropped (missed, not caught up by the catch-up policy) / unknown (no run, before the schedule’s last change) / manual (not a tick: a run of the schedule made by hand, at its creation time)',
  },
);

export const TickExplanation = Type.Object({
  nominalTime: Timestamp,
  localTime: Type.String({
    description: 'The tick on the wall clock of the schedule’s zone, with its offset',
  }),
  verdict: TickVerdict,
  reason: Type.String({ description: 'Why, in a sentence' }),
  runId: Type.Union([Type.String(), Type.Null()]),
  runStatus: Type.Union([RunStatus, Type.Null()]),
  dst: DstNote,
});

export const TicksPage = Type.Object({
  from: Timestamp,
  to: Timestamp,
  items: Type.Array(TickExplanation),
  nextFrom: Type.Union([Timestamp, Type.Null()], {
    description: 'The window held more than 1000 ticks: ask again from here for the rest',
  }),
});

export type TicksQuery = Static<typeof TicksQuery>;
