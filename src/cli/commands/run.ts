// `hourglass run <job>`: start a run now (or at a given time), and optionally stream its logs and wait for its outcome, which
// becomes the exit code (so `hourglass run build --wait && deploy` works).

import { defineCommand } from '../command.js';
import { exitCodeForStatus, parseKeyValues, UsageError } from '../args.js';
import { HourglassConnectionError, type CreateRunInput } from '../../sdk/index.js';
import { connect } from '../options.js';
import { formatRunOutcome, printErr, printJson, printOut, writeChunk } from '../output.js';

export const EXIT_CODES_HELP = `Exit codes with --wait or --follow:
  0    the run succeeded
  1    it failed, was cancelled or was lost (and for API errors)
  2    bad usage
  124  it timed out
  137  it was killed for running out of memory`;

export const runCommand = defineCommand({
  usage: 'hourglass run <job> [--at ISO] [--arg A]... [--env K=V]... [--wait | --follow] [-- ARG...]',
  summary: 'Start a run of a job now, or at a given time, and print its id.',
  help: `<job> is a job id or name.

  --arg ARG             Argument for this run, replacing the job's (repeat)
  -- ARG...             Arguments for this run, taken literally (after any --arg)
  --env KEY=VALUE       Environment variable for this run (repeat)
  --at ISO              Run at this time instead of now: ISO 8601 with Z or an offset, at most 366 days
                        ahead; in an hour: --at "$(date -d '+1 hour' -Is)"
  --idempotency-key K   Retrying with the same key returns the same run instead of starting another
  --wait                Wait for the run to end, then print its output on stdout and its status line
                        on stderr
  --follow              Stream its logs to stdout until it ends (implies --wait)
  --json                Print the run as JSON (the final run with --wait); not with --follow

The status line gives the status, exit code, reason, lag (how late it started) and duration.
Ctrl-C stops waiting; the run goes on (stop it with 'hourglass runs cancel <id>').

${EXIT_CODES_HELP}`,
  options: {
    arg: { type: 'string', multiple: true },
    env: { type: 'string', multiple: true },
    'idempotency-key': { type: 'string' },
    at: { type: 'string' },
    wait: { type: 'boolean' },
    follow: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  args: ['<job>'],
  acceptsDash: true,
  async run({ values, args: [job = ''], afterDash }) {
    const { follow = false, json = false } = values;
    if (json && follow) throw new UsageError('--json cannot be combined with --follow (logs go to stdout)');
    const input: CreateRunInput = {};
    if (values.arg !== undefined || afterDash !== null)
      input.args = [...(values.arg ?? []), ...(afterDash ?? [])];
    if (values.env !== undefined) input.env = parseKeyValues(values.env, '--env');
    if (values.at !== undefined) input.runAt = values.at;
    const idempotencyKey = values['idempotency-key'];

    const client = connect(values);
    const run = await client.createRun(job, input, idempotencyKey === undefined ? {} : { idempotencyKey });
    if (!follow && values.wait !== true) {
      if (json) printJson(run);
      else printOut(run.id);
      return 0;
    }

    const stopWaiting = (): void => {
      printErr(`\nstopped waiting; run ${run.id} goes on (cancel it with 'hourglass runs cancel ${run.id}')`);
      process.exit(130);
    };
    process.once('SIGINT', stopWaiting);
    try {
      if (follow) {
        printErr(`run ${run.id} ${run.status}`);
        await streamLogs(client.followLogs(run.id)).catch((error: unknown) => {
          // The outcome matters more than the log: say what broke, then wait for the run by polling.
          if (!(error instanceof HourglassConnectionError)) throw error;
          printErr(`warning: the log stream broke (${error.message}); waiting for the run to end`);
        });
      } else if (!json) {
        printErr(`run ${run.id} ${run.status}`);
      }
      const final = await client.waitForRun(run.id, { pollMs: 250 });
      if (json) printJson(final);
      else if (!follow) await streamLogs(oneChunk(await client.getLogs(run.id)));
      printErr(`run ${final.id} ${formatRunOutcome(final)}`);
      return exitCodeForStatus(final.status);
    } finally {
      process.off('SIGINT', stopWaiting);
    }
  },
});

async function* oneChunk(text: string): AsyncIterable<string> {
  if (text.length > 0) yield text;
}

/** Copies a log stream to stdout; on a terminal, ends it with a newline so that what follows starts clean. */
export async function streamLogs(chunks: AsyncIterable<string>): Promise<void> {
  let last = '\n';
  for await (const chunk of chunks) {
    await writeChunk(chunk);
    last = chunk;
  }
  if (process.stdout.isTTY && !last.endsWith('\n')) await writeChunk('\n');
}
