// `hourglass schedules …`: make runs of a job at the ticks of a cron expression or an interval; list, show,
// change, pause, resume and delete schedules, and preview their next ticks with daylight-saving notes.

import type { PreviewFire, Schedule } from '../../sdk/index.js';
import { parseInteger, UsageError } from '../args.js';
import { defineCommand, type Group } from '../command.js';
import { jobNamesOf } from '../job-names.js';
import { connect } from '../options.js';
import { buildScheduleFields, SCHEDULE_SPEC_HELP, SCHEDULE_SPEC_OPTIONS } from '../schedule-spec.js';
import {
  formatArgv,
  formatFields,
  formatTable,
  formatTime,
  orDash,
  printJson,
  printOut,
  printPage,
} from '../output.js';

const JSON_OPTION = { json: { type: 'boolean' } } as const;
const JSON_HELP = '  --json                Print the schedule as JSON';

const create = defineCommand({
  usage: 'hourglass schedules create <job> (--cron EXPR [--timezone TZ] | --every DURATION) [flags]',
  summary: 'Run a job on a schedule.',
  help: `<job> is a job id or name.

Examples:
  hourglass schedules create report --cron '30 1 * * *' --timezone America/New_York
  hourglass schedules create ping --every 30s --overlap skip
  hourglass schedules create tick --cron '*/5 * * * * *' --end-at "$(date -u -d '+1 hour' -Iseconds)"

${SCHEDULE_SPEC_HELP}

${JSON_HELP}`,
  options: { ...SCHEDULE_SPEC_OPTIONS, ...JSON_OPTION },
  args: ['<job>'],
  async run({ values, args: [job = ''] }) {
    const fields = buildScheduleFields(values);
    if (fields.cron === undefined && fields.every === undefined) {
      throw new UsageError('give --cron EXPR or --every DURATION');
    }
    printSchedule(await connect(values).createSchedule(job, fields), values.json === true);
    return 0;
  },
});

const update = defineCommand({
  usage: 'hourglass schedules update <schedule> [flags]',
  summary: 'Change a schedule: only the flags given change; a change of timing takes effect from now.',
  help: `${SCHEDULE_SPEC_HELP}

  --resume              Resume it (the opposite of --paused)

${JSON_HELP}`,
  options: { ...SCHEDULE_SPEC_OPTIONS, ...JSON_OPTION, resume: { type: 'boolean' } },
  args: ['<schedule>'],
  async run({ values, args: [id = ''] }) {
    if (values.paused === true && values.resume === true) {
      throw new UsageError('give --paused or --resume, not both');
    }
    const patch = buildScheduleFields(values);
    if (values.resume === true) patch.paused = false;
    if (Object.keys(patch).length === 0) throw new UsageError('nothing to change: give at least one flag');
    printSchedule(await connect(values).updateSchedule(id, patch), values.json === true);
    return 0;
  },
});

const list = defineCommand({
  usage: 'hourglass schedules list [--job J] [--limit N] [--cursor C] [--json]',
  summary: 'List schedules, oldest first, a page at a time.',
  help: `  --job J               Only the schedules of this job (id or name)
  --limit N             Schedules per page
  --cursor C            Where the previous page ended (printed after it)
  --json                Print the page as JSON: {items, nextCursor}`,
  options: { job: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' }, ...JSON_OPTION },
  async run({ values }) {
    const limit = parseInteger(values.limit, '--limit', 1);
    const client = connect(values);
    // The API takes a job's id or name as it is.
    const page = await client.listSchedules({ jobId: values.job, limit, cursor: values.cursor });
    await printPage(page, {
      json: values.json === true,
      command: 'schedules list',
      flags: [
        ['--job', values.job],
        ['--limit', values.limit],
      ],
      async table(schedules) {
        const names = await jobNamesOf(
          client,
          schedules.map((s) => s.jobId),
        );
        const rows = schedules.map((s) => [
          s.id,
          names.get(s.jobId) ?? s.jobId,
          formatWhen(s),
          s.paused ? 'paused' : s.nextFireAt === null ? 'ended' : 'active',
          formatTime(s.nextFireAt),
          s.overlapPolicy,
        ]);
        return formatTable(['ID', 'JOB', 'WHEN', 'STATE', 'NEXT', 'OVERLAP'], rows);
      },
    });
    return 0;
  },
});

const get = defineCommand({
  usage: 'hourglass schedules get <schedule> [--json]',
  summary: 'Show a schedule.',
  help: JSON_HELP,
  options: JSON_OPTION,
  args: ['<schedule>'],
  async run({ values, args: [id = ''] }) {
    printSchedule(await connect(values).getSchedule(id), values.json === true);
    return 0;
  },
});

const pause = defineCommand({
  usage: 'hourglass schedules pause <schedule> [--json]',
  summary: 'Pause a schedule: no ticks until it is resumed.',
  help: JSON_HELP,
  options: JSON_OPTION,
  args: ['<schedule>'],
  async run({ values, args: [id = ''] }) {
    printSchedule(await connect(values).pauseSchedule(id), values.json === true);
    return 0;
  },
});

const resume = defineCommand({
  usage: 'hourglass schedules resume <schedule> [--json]',
  summary: 'Resume a schedule from now on (ticks missed while it was paused are not caught up).',
  help: JSON_HELP,
  options: JSON_OPTION,
  args: ['<schedule>'],
  async run({ values, args: [id = ''] }) {
    printSchedule(await connect(values).resumeSchedule(id), values.json === true);
    return 0;
  },
});

const remove = defineCommand({
  usage: 'hourglass schedules delete <schedule>',
  summary: 'Delete a schedule (its runs stay readable).',
  help: '<schedule> is a schedule id.',
  options: {},
  args: ['<schedule>'],
  async run({ values, args: [id = ''] }) {
    await connect(values).deleteSchedule(id);
    printOut(`deleted schedule ${id}`);
    return 0;
  },
});

const DST_NOTES: Record<string, string> = {
  moved_out_of_gap: 'moved: its time does not exist that day (clocks go forward)',
  repeated_time_first: 'its time occurs twice that day (clocks go back): the first',
  repeated_time_second: 'its time occurs twice that day (clocks go back): the second',
};

const preview = defineCommand({
  usage: 'hourglass schedules preview <schedule> [--count N] [--json]',
  summary: 'Show the next ticks of a schedule, with daylight-saving effects noted.',
  help: `  --count N             How many ticks (1-100, default 10)
  --json                Print {items: [...]} as JSON`,
  options: { count: { type: 'string' }, ...JSON_OPTION },
  args: ['<schedule>'],
  async run({ values, args: [id = ''] }) {
    const count = parseInteger(values.count, '--count', 1);
    const items = await connect(values).previewSchedule(id, count === undefined ? {} : { count });
    if (values.json === true) {
      printJson({ items });
      return 0;
    }
    printOut(formatPreview(items));
    return 0;
  },
});

export const schedulesGroup: Group = {
  name: 'schedules',
  summary: 'Schedules: runs of a job at the ticks of a cron expression (in a time zone) or an interval.',
  commands: { create, list, get, update, pause, resume, delete: remove, preview },
};

function formatPreview(items: readonly PreviewFire[]): string {
  if (items.length === 0) return 'no ticks ahead (the schedule has ended)';
  const jittered = items.some((fire) => fire.dueAt !== fire.nominalTime);
  const headers = ['AT (UTC)', 'LOCAL', ...(jittered ? ['DUE'] : []), 'DST'];
  const rows = items.map((fire) => [
    formatTime(fire.at),
    fire.localTime,
    // With milliseconds: a jitter offset is rarely whole seconds.
    ...(jittered ? [fire.dueAt.replace('T', ' ')] : []),
    fire.dst === null ? '-' : (DST_NOTES[fire.dst] ?? fire.dst),
  ]);
  return formatTable(headers, rows);
}

function formatWhen(s: Schedule): string {
  if (s.every !== null) return `every ${s.every}`;
  return `${s.cron ?? '?'} (${s.timezone ?? 'UTC'})`;
}

function printSchedule(s: Schedule, json: boolean): void {
  if (json) {
    printJson(s);
    return;
  }
  const env = s.env === null ? null : Object.entries(s.env).map(([key, value]) => `${key}=${value}`);
  const catchup =
    s.catchup.mode === 'all'
      ? `all, within ${s.catchup.windowSeconds} s, at most ${s.catchup.maxRuns}`
      : `${s.catchup.mode}, within ${s.catchup.windowSeconds} s`;
  printOut(
    formatFields([
      ['ID', s.id],
      ['Job', s.jobId],
      ['When', formatWhen(s)],
      ['Start', formatTime(s.startAt)],
      ['End', formatTime(s.endAt)],
      ['State', s.paused ? 'paused' : s.nextFireAt === null ? 'ended' : 'active'],
      ['Next', formatTime(s.nextFireAt)],
      ['Overlap', s.overlapPolicy],
      ['Catch-up', catchup],
      ['Jitter', `${s.jitterSeconds} s`],
      ['Args', s.args === null ? '- (the job’s)' : formatArgv(s.args)],
      ['Env', env === null ? '- (the job’s)' : orDash(formatArgv(env))],
      ['Version', String(s.version)],
      ['Created', formatTime(s.createdAt)],
      ['Updated', formatTime(s.updatedAt)],
    ]),
  );
}
