// `hourglass jobs …`: create, list, show, update and delete job definitions.

import type { Job } from '../../sdk/index.js';
import { parseInteger, UsageError } from '../args.js';
import { defineCommand, type Group } from '../command.js';
import { buildJobFields, JOB_SPEC_HELP, JOB_SPEC_OPTIONS } from '../job-spec.js';
import { connect } from '../options.js';
import {
  formatArgv,
  formatFields,
  formatRetry,
  formatTable,
  formatTime,
  printJson,
  printOut,
  printPage,
} from '../output.js';

const JSON_OPTION = { json: { type: 'boolean' } } as const;
const JSON_HELP = '  --json                Print the job as JSON';

const create = defineCommand({
  usage: 'hourglass jobs create <name> [flags] [-- COMMAND [ARG...]]',
  summary: 'Define a job.',
  help: `Examples:
  hourglass jobs create hello -- echo hello
  hourglass jobs create nightly --image alpine:3 --timeout 10m --max-attempts 3 -- sh -c 'date'
  hourglass jobs create report --cmd '["node","report.js"]' --env MODE=full --memory-mb 512

${JOB_SPEC_HELP}

${JSON_HELP}`,
  options: { ...JOB_SPEC_OPTIONS, ...JSON_OPTION },
  args: ['<name>'],
  acceptsDash: true,
  async run({ values, args: [name = ''], afterDash }) {
    const job = await connect(values).createJob({ name, ...buildJobFields(values, afterDash) });
    printJob(job, values.json === true);
    return 0;
  },
});

const update = defineCommand({
  usage: 'hourglass jobs update <job> [flags] [-- COMMAND [ARG...]]',
  summary: 'Change a job: only the fields given change.',
  help: `<job> is a job id or name. --arg and --env replace the job's whole list.

  --name NAME           Rename the job

${JOB_SPEC_HELP}

${JSON_HELP}`,
  options: { ...JOB_SPEC_OPTIONS, ...JSON_OPTION, name: { type: 'string' } },
  args: ['<job>'],
  acceptsDash: true,
  async run({ values, args: [idOrName = ''], afterDash }) {
    const patch = buildJobFields(values, afterDash);
    if (values.name !== undefined) patch.name = values.name;
    if (Object.keys(patch).length === 0) throw new UsageError('nothing to change: give at least one flag');
    printJob(await connect(values).updateJob(idOrName, patch), values.json === true);
    return 0;
  },
});

const list = defineCommand({
  usage: 'hourglass jobs list [--limit N] [--cursor C] [--json]',
  summary: 'List jobs, a page at a time.',
  help: `  --limit N             Jobs per page
  --cursor C            Where the previous page ended (printed after it)
  --json                Print the page as JSON: {items, nextCursor}`,
  options: { limit: { type: 'string' }, cursor: { type: 'string' }, ...JSON_OPTION },
  async run({ values }) {
    const limit = parseInteger(values.limit, '--limit', 1);
    const page = await connect(values).listJobs({ limit, cursor: values.cursor });
    await printPage(page, {
      json: values.json === true,
      command: 'jobs list',
      flags: [['--limit', values.limit]],
      table: (jobs) => {
        const rows = jobs.map((job) => [
          job.name,
          job.id,
          job.image ?? '-',
          truncate(formatArgv([...job.command, ...job.args]), 40),
          `${job.resources.memoryMb} MB`,
          `${job.timeoutSeconds} s`,
          String(job.retry.maxAttempts),
          formatTime(job.updatedAt),
        ]);
        return formatTable(
          ['NAME', 'ID', 'IMAGE', 'COMMAND', 'MEMORY', 'TIMEOUT', 'ATTEMPTS', 'UPDATED'],
          rows,
        );
      },
    });
    return 0;
  },
});

const get = defineCommand({
  usage: 'hourglass jobs get <job> [--json]',
  summary: 'Show a job.',
  help: `<job> is a job id or name.\n\n${JSON_HELP}`,
  options: JSON_OPTION,
  args: ['<job>'],
  async run({ values, args: [idOrName = ''] }) {
    printJob(await connect(values).getJob(idOrName), values.json === true);
    return 0;
  },
});

const remove = defineCommand({
  usage: 'hourglass jobs delete <job>',
  summary: 'Delete a job.',
  help: '<job> is a job id or name.',
  options: {},
  args: ['<job>'],
  async run({ values, args: [idOrName = ''] }) {
    await connect(values).deleteJob(idOrName);
    printOut(`deleted job ${idOrName}`);
    return 0;
  },
});

export const jobsGroup: Group = {
  name: 'jobs',
  summary: 'Job definitions: what to run, with its environment, limits and retry policy.',
  commands: { create, list, get, update, delete: remove },
};

function printJob(job: Job, json: boolean): void {
  if (json) {
    printJson(job);
    return;
  }
  const env = Object.entries(job.env).map(([key, value]) => `${key}=${value}`);
  printOut(
    formatFields([
      ['Name', job.name],
      ['ID', job.id],
      ['Image', job.image ?? '- (host process)'],
      ['Command', formatArgv(job.command) || '-'],
      ['Args', formatArgv(job.args) || '-'],
      ['Env', env.length === 0 ? '-' : formatArgv(env)],
      [
        'Memory',
        `${job.resources.memoryMb} MB limit${memoryLimitNote(job.memoryLimit)}, ` +
          `${job.resources.memoryRequestMb} MB reserved per run`,
      ],
      ['Timeout', `${job.timeoutSeconds} s`],
      ['Retry', formatRetry(job.retry)],
      ['Created', formatTime(job.createdAt)],
      ['Updated', formatTime(job.updatedAt)],
    ]),
  );
}

/** How the server enforces the memory limit, said next to it; nothing when the server cannot say. */
function memoryLimitNote(limit: Job['memoryLimit']): string {
  if (limit === 'cgroup') return ' (enforced: cgroup)';
  if (limit === 'address-space') return ' (enforced only as an address-space rlimit)';
  if (limit === 'none') return ' (NOT enforced on this server)';
  return '';
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
