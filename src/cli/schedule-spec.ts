// The flags that describe a schedule (shared by `schedules create` and `schedules update`) and their
// translation into the API's schedule fields. Only the flags given become fields, so an update changes nothing
// else. Choices are checked here so that a typo is a usage error naming the flag.

import type { CatchupMode, CatchupPolicy, CreateScheduleInput, OverlapPolicy } from '../sdk/index.js';
import { parseInteger, parseKeyValues, parseSeconds, UsageError } from './args.js';

const OVERLAP_POLICIES: readonly OverlapPolicy[] = ['allow', 'skip', 'buffer_one', 'replace'];
const CATCHUP_MODES: readonly CatchupMode[] = ['skip', 'latest', 'all'];

export const SCHEDULE_SPEC_OPTIONS = {
  cron: { type: 'string' },
  timezone: { type: 'string' },
  every: { type: 'string' },
  'start-at': { type: 'string' },
  'end-at': { type: 'string' },
  paused: { type: 'boolean' },
  overlap: { type: 'string' },
  catchup: { type: 'string' },
  'catchup-window-seconds': { type: 'string' },
  'catchup-max-runs': { type: 'string' },
  jitter: { type: 'string' },
  arg: { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
} as const;

export const SCHEDULE_SPEC_HELP = `When (give --cron or --every):
  --cron EXPR           Cron with seconds ('*/10 * * * * *') or the classic 5 fields ('30 1 * * *');
                        day of month and weekday as in crontab(5); Quartz steps ('0/15') work too
  --timezone TZ         IANA zone of --cron (Europe/Berlin); default UTC
  --every DURATION      A fixed interval: 30s, 5m, 1h, 1h30m, 1d
  --start-at ISO        No tick before this time (ISO 8601 with Z or an offset)
  --end-at ISO          No tick after this time

Policies:
  --paused              Paused: no ticks until it is resumed
  --overlap P           A tick while an earlier run still runs: allow (default), skip, buffer_one, replace
  --catchup MODE        Ticks missed while no scheduler ran: latest (default), all, skip
  --catchup-window-seconds N
                        Only catch up ticks at most this old (default 86400, at most 7 days)
  --catchup-max-runs N  With --catchup all: at most this many (default 10)
  --jitter N            Each run is due a fixed offset in [0, N) seconds after its tick (default 0)

Its runs:
  --arg ARG             Argument for its runs, replacing the job's (repeat)
  --env KEY=VALUE       Environment variable for its runs (repeat)`;

export interface ScheduleSpecFlags {
  cron?: string | undefined;
  timezone?: string | undefined;
  every?: string | undefined;
  'start-at'?: string | undefined;
  'end-at'?: string | undefined;
  paused?: boolean | undefined;
  overlap?: string | undefined;
  catchup?: string | undefined;
  'catchup-window-seconds'?: string | undefined;
  'catchup-max-runs'?: string | undefined;
  jitter?: string | undefined;
  arg?: string[] | undefined;
  env?: string[] | undefined;
}

/** The schedule fields named by the flags; only those given, so an update changes nothing else. */
export function buildScheduleFields(flags: ScheduleSpecFlags): CreateScheduleInput {
  const fields: CreateScheduleInput = {};
  if (flags.cron !== undefined && flags.every !== undefined) {
    throw new UsageError('give --cron or --every, not both');
  }
  if (flags.cron !== undefined) fields.cron = flags.cron;
  if (flags.timezone !== undefined) fields.timezone = flags.timezone;
  if (flags.every !== undefined) fields.every = flags.every;
  if (flags['start-at'] !== undefined) fields.startAt = flags['start-at'];
  if (flags['end-at'] !== undefined) fields.endAt = flags['end-at'];
  if (flags.paused !== undefined) fields.paused = flags.paused;
  if (flags.overlap !== undefined) fields.overlapPolicy = oneOf(flags.overlap, OVERLAP_POLICIES, '--overlap');
  const catchup: Partial<CatchupPolicy> = {};
  if (flags.catchup !== undefined) catchup.mode = oneOf(flags.catchup, CATCHUP_MODES, '--catchup');
  const window = parseSeconds(flags['catchup-window-seconds'], '--catchup-window-seconds', 1);
  if (window !== undefined) catchup.windowSeconds = window;
  const maxRuns = parseInteger(flags['catchup-max-runs'], '--catchup-max-runs', 1);
  if (maxRuns !== undefined) catchup.maxRuns = maxRuns;
  if (Object.keys(catchup).length > 0) fields.catchup = catchup;
  const jitter = parseSeconds(flags.jitter, '--jitter', 0);
  if (jitter !== undefined) fields.jitterSeconds = jitter;
  if (flags.arg !== undefined) fields.args = flags.arg;
  if (flags.env !== undefined) fields.env = parseKeyValues(flags.env, '--env');
  return fields;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  const found = allowed.find((item) => item === value);
  if (found === undefined)
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')}; got '${value}'`);
  return found;
}
