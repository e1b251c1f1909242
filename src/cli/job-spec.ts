// The flags that describe a job (shared by `jobs create` and `jobs update`) and their translation into the
// API's job fields. Only the flags given become fields, so an update changes nothing else.

import { JOB_MEMORY_MB } from '../core/job.js';
import type { UpdateJobInput } from '../sdk/index.js';
import { parseArgvFlag, parseInteger, parseKeyValues, parseSeconds, UsageError } from './args.js';

export const JOB_SPEC_OPTIONS = {
  image: { type: 'string' },
  network: { type: 'string' },
  cmd: { type: 'string', multiple: true },
  command: { type: 'string', multiple: true },
  arg: { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  'memory-mb': { type: 'string' },
  'memory-request-mb': { type: 'string' },
  timeout: { type: 'string' },
  'max-attempts': { type: 'string' },
  backoff: { type: 'string' },
} as const;

export const JOB_SPEC_HELP = `What to run (a command after '--' is the most convenient form):
  -- COMMAND [ARG...]   The command, taken literally: no shell, no quoting rules beyond your own shell's
  --cmd WORD            The command one word at a time (repeat), or all at once as a JSON array:
                        --cmd '["sh","-c","echo hi"]'   (--command is the same flag)
  --image REF           OCI image to run; without it the command runs as a host process
  --network MODE        A container's network: none (default: its own loopback only) or egress (out to
                        public addresses, never the host, private ranges or metadata)
  --arg ARG             Default argument appended to the command (repeat); a run may replace them
  --env KEY=VALUE       Environment variable (repeat)

Limits and retries:
  --memory-mb N         Memory limit in MB (default 1024, at least ${JOB_MEMORY_MB.min})
  --memory-request-mb N What a run reserves on a worker, in MB, at most the limit (default a quarter of it)
  --timeout DURATION    Stop the run after this long: seconds, or 30s, 5m, 2h, 1d
  --max-attempts N      Attempts in all (1 = no retry)
  --backoff DURATION    Wait before the first retry, doubled for each later one (at most 1h):
                        seconds, or 30s, 5m, …`;

export interface JobSpecFlags {
  image?: string | undefined;
  network?: string | undefined;
  cmd?: string[] | undefined;
  command?: string[] | undefined;
  arg?: string[] | undefined;
  env?: string[] | undefined;
  'memory-mb'?: string | undefined;
  'memory-request-mb'?: string | undefined;
  timeout?: string | undefined;
  'max-attempts'?: string | undefined;
  backoff?: string | undefined;
}

/** The job fields named by the flags (and by the command after `--`, if any). */
export function buildJobFields(flags: JobSpecFlags, afterDash: string[] | null): UpdateJobInput {
  const fields: UpdateJobInput = {};
  const command = resolveCommand(flags, afterDash);
  if (command !== undefined) fields.command = command;
  if (flags.image !== undefined) fields.image = flags.image;
  if (flags.network !== undefined) {
    if (flags.network !== 'none' && flags.network !== 'egress') {
      throw new UsageError(`--network must be none or egress, got ${JSON.stringify(flags.network)}`);
    }
    fields.network = flags.network;
  }
  if (flags.arg !== undefined) fields.args = flags.arg;
  if (flags.env !== undefined) fields.env = parseKeyValues(flags.env, '--env');
  const memoryMb = parseInteger(flags['memory-mb'], '--memory-mb', JOB_MEMORY_MB.min, JOB_MEMORY_MB.max);
  const memoryRequestMb = parseInteger(
    flags['memory-request-mb'],
    '--memory-request-mb',
    JOB_MEMORY_MB.min,
    JOB_MEMORY_MB.max,
  );
  if (memoryMb !== undefined || memoryRequestMb !== undefined) {
    fields.resources = {};
    if (memoryMb !== undefined) fields.resources.memoryMb = memoryMb;
    if (memoryRequestMb !== undefined) fields.resources.memoryRequestMb = memoryRequestMb;
  }
  const timeoutSeconds = parseSeconds(flags.timeout, '--timeout', 1);
  if (timeoutSeconds !== undefined) fields.timeoutSeconds = timeoutSeconds;
  const maxAttempts = parseInteger(flags['max-attempts'], '--max-attempts', 1);
  const backoffSeconds = parseSeconds(flags.backoff, '--backoff', 0);
  if (maxAttempts !== undefined || backoffSeconds !== undefined) {
    fields.retry = {};
    if (maxAttempts !== undefined) fields.retry.maxAttempts = maxAttempts;
    if (backoffSeconds !== undefined) fields.retry.backoffSeconds = backoffSeconds;
  }
  return fields;
}

function resolveCommand(flags: JobSpecFlags, afterDash: string[] | null): string[] | undefined {
  const given = [...(flags.cmd ?? []), ...(flags.command ?? [])];
  if (flags.cmd !== undefined && flags.command !== undefined) {
    throw new UsageError('give the command with --cmd or --command, not both');
  }
  if (afterDash !== null) {
    if (given.length > 0) throw new UsageError("give the command either after '--' or with --cmd, not both");
    if (afterDash.length === 0) throw new UsageError("expected a command after '--'");
    return afterDash;
  }
  if (given.length === 0) return undefined;
  return parseArgvFlag(given, flags.cmd !== undefined ? '--cmd' : '--command');
}
