// `hourglass runs …`: list runs, show one with its timeline, cancel one.

import { FAILURE_RUN_STATUSES, type Run, type RunDetail } from '../../sdk/index.js';
import { parseInteger, parseRunStatuses, UsageError } from '../args.js';
import { defineCommand, type Group } from '../command.js';
import { jobNamesOf } from '../job-names.js';
import { connect } from '../options.js';
import {
  formatArgv,
  formatFields,
  formatMs,
  formatTable,
  formatTime,
  orDash,
  printJson,
  printOut,
  printPage,
  runDurationMs,
} from '../output.js';

const list = defineCommand({
  usage:
    'hourglass runs list [--job J] [--schedule S] [--status S[,S…]] [--failures] [--from T] [--to T] [--limit N] [--cursor C] [--json]',
  summary: 'List runs, newest first, a page at a time.',
  help: `  --job J               Only the runs of this job (id or name; a deleted job's id too)
  --schedule S          Only the runs of this schedule (id)
  --status S[,S…]       Only runs in these statuses: queued, running, succeeded, failed, timed_out,
                        oom_killed, cancelled, lost, skipped
  --failures            Only the failures: failed, timed_out, oom_killed, lost
  --from T, --to T      Only runs created at or after T, before T (ISO 8601: 2026-03-08T07:00:00Z)
  --limit N             Runs per page
  --cursor C            Where the previous page ended (printed after it)
  --json                Print the page as JSON: {items, nextCursor}`,
  options: {
    job: { type: 'string' },
    schedule: { type: 'string' },
    status: { type: 'string' },
    failures: { type: 'boolean' },
    from: { type: 'string' },
    to: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values }) {
    if (values.failures === true && values.status !== undefined) {
      throw new UsageError('give --status or --failures, not both');
    }
    const status = values.failures === true ? FAILURE_RUN_STATUSES : parseRunStatuses(values.status);
    const limit = parseInteger(values.limit, '--limit', 1);
    const client = connect(values);
    // The API takes a job's id or name as it is: a deleted job's runs are still listed by its id.
    const jobId = values.job;
    const scheduleId = values.schedule;
    const { from, to, cursor } = values;
    const page = await client.listRuns({ jobId, scheduleId, status, from, to, limit, cursor });
    await printPage(page, {
      json: values.json === true,
      command: 'runs list',
      flags: [
        ['--job', values.job],
        ['--schedule', values.schedule],
        // The next page's command names the failures' statuses: the same filter, one flag fewer.
        ['--status', values.failures === true ? FAILURE_RUN_STATUSES.join(',') : values.status],
        ['--from', values.from],
        ['--to', values.to],
        ['--limit', values.limit],
      ],
      async table(runs) {
        const names = await jobNamesOf(
          client,
          runs.map((run) => run.jobId),
        );
        const rows = runs.map((run) => [
          run.id,
          names.get(run.jobId) ?? run.jobId,
          run.status,
          String(run.attempt),
          orDash(run.exitCode),
          formatMs(run.lagMs),
          formatMs(runDurationMs(run)),
          // When it was due: its creation for a run-now, its tick or `runAt` otherwise.
          formatTime(run.dueAt),
        ]);
        return formatTable(['ID', 'JOB', 'STATUS', 'ATTEMPT', 'EXIT', 'LAG', 'DURATION', 'DUE'], rows);
      },
    });
    return 0;
  },
});

const get = defineCommand({
  usage: 'hourglass runs get <run> [--json]',
  summary: 'Show a run and its timeline (queued, dispatched, started, retried, finished).',
  help: '  --json                Print the run as JSON',
  options: { json: { type: 'boolean' } },
  args: ['<run>'],
  async run({ values, args: [runId = ''] }) {
    const run = await connect(values).getRun(runId);
    if (values.json === true) printJson(run);
    else printOut(formatRunDetail(run));
    return 0;
  },
});

const cancel = defineCommand({
  usage: 'hourglass runs cancel <run> [--json]',
  summary: 'Ask a queued or running run to stop (a running one is sent SIGTERM, then SIGKILL).',
  help: '  --json                Print the run as JSON',
  options: { json: { type: 'boolean' } },
  args: ['<run>'],
  async run({ values, args: [runId = ''] }) {
    const run = await connect(values).cancelRun(runId);
    if (values.json === true) printJson(run);
    else printOut(`cancel requested for run ${run.id} (now ${run.status})`);
    return 0;
  },
});

export const runsGroup: Group = {
  name: 'runs',
  summary: 'Runs: one execution of a job (with its retries), its outcome and its timeline.',
  commands: { list, get, cancel },
};

function formatRunDetail(run: RunDetail): string {
  const fields = formatFields([
    ['ID', run.id],
    ['Job', run.jobId],
    ['Schedule', orDash(run.scheduleId)],
    ['Status', run.status],
    ['Attempt', String(run.attempt)],
    ['Exit code', orDash(run.exitCode)],
    ['Reason', orDash(run.reason)],
    ['Args', run.args === null ? '- (the job’s)' : formatArgv(run.args)],
    ['Env', formatEnv(run)],
    ['Nominal', orDash(run.nominalTime)],
    ['Due', orDash(run.dueAt)],
    ['Blocked by', orDash(run.blockedBy)],
    ['Image digest', orDash(run.imageDigest)],
    ['Created', orDash(run.createdAt)],
    ['Dispatched', orDash(run.dispatchedAt)],
    ['Started', orDash(run.startedAt)],
    ['Finished', orDash(run.finishedAt)],
    ['Lag', formatMs(run.lagMs)],
    ['Duration', formatMs(runDurationMs(run))],
  ]);
  if (run.timeline.length === 0) return fields;
  const rows = run.timeline.map((e) => [e.at, e.type, String(e.attempt), e.status, orDash(e.detail)]);
  return `${fields}\n\nTimeline:\n${formatTable(['AT', 'EVENT', 'ATTEMPT', 'STATUS', 'DETAIL'], rows)}`;
}

function formatEnv(run: Run): string {
  if (run.env === null) return '-';
  return formatArgv(Object.entries(run.env).map(([key, value]) => `${key}=${value}`)) || '-';
}
