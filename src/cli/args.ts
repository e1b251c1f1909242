// Pure helpers that turn command-line strings into values: flags split off before the command, K=V lists,
// numbers, durations, the command after `--`, run statuses, and run statuses back into exit codes.
// Bad input throws UsageError, which the CLI prints without a stack trace and exits with code 2.

import { RUN_STATUSES, type RunStatus } from '../sdk/index.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The usage line (or help command) to show under the message. */
  usage: string | undefined;

  constructor(message: string, usage?: string) {
    super(message);
    this.usage = usage;
  }
}

/** Global flags that take a value, so `hourglass --url U jobs list` knows `U` is not the command. */
const VALUE_FLAGS = new Set(['--url', '--api-key']);

/** Splits `[flags…] command rest…` so that flags given before the command can be handed to it. */
export function splitLeadingFlags(argv: readonly string[]): { leading: string[]; rest: string[] } {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('-') || arg === '--' || arg === '-') break;
    leading.push(arg);
    const next = argv[i + 1];
    if (VALUE_FLAGS.has(arg) && next !== undefined) {
      leading.push(next);
      i += 1;
    }
    i += 1;
  }
  return { leading, rest: argv.slice(i) };
}

/** The tokens of node:util parseArgs that matter here. */
export type ArgToken =
  | { kind: 'positional'; index: number; value: string }
  | { kind: 'option-terminator'; index: number }
  | { kind: 'option'; index: number };

/** Positionals before `--`, and everything after it (taken literally, even `--flags`). */
export function splitAtTerminator(tokens: readonly ArgToken[]): {
  positionals: string[];
  afterDash: string[] | null;
} {
  const positionals: string[] = [];
  let afterDash: string[] | null = null;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') afterDash = [];
    else if (token.kind === 'positional') (afterDash ?? positionals).push(token.value);
  }
  return { positionals, afterDash };
}

/** `['A=1', 'B=x=y']` → `{ A: '1', B: 'x=y' }`; a later key wins. */
export function parseKeyValues(pairs: readonly string[] | undefined, flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} expects KEY=VALUE, got '${pair}'`);
    result[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return result;
}

/** A command given as repeated flags (`--cmd echo --cmd hi`) or as one JSON array (`--cmd '["echo","hi"]'`). */
export function parseArgvFlag(values: readonly string[], flag: string): string[] {
  const [first] = values;
  if (values.length !== 1 || first === undefined || !first.trimStart().startsWith('[')) return [...values];
  let parsed: unknown;
  try {
    parsed = JSON.parse(first);
  } catch {
    throw new UsageError(`${flag} looks like a JSON array but does not parse: ${first}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw new UsageError(`${flag} must be a JSON array of strings`);
  }
  return parsed;
}

export function parseInteger(
  value: string | undefined,
  flag: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${flag} expects a whole number ≥ ${min}, got '${value}'`);
  }
  if (Number(value) > max) throw new UsageError(`${flag} expects a whole number ≤ ${max}, got '${value}'`);
  return Number(value);
}

export function parsePositiveNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${flag} expects a number > 0, got '${value}'`);
  }
  return n;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Whole seconds: `90`, `90s`, `5m`, `2h`, `1d`. */
export function parseSeconds(value: string | undefined, flag: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  const unit = UNIT_SECONDS[match?.[2] || 's'];
  const seconds = match !== null && unit !== undefined ? Number(match[1]) * unit : NaN;
  if (!Number.isSafeInteger(seconds) || seconds < min) {
    throw new UsageError(`${flag} expects seconds ≥ ${min} (e.g. 90, 90s, 5m, 2h), got '${value}'`);
  }
  return seconds;
}

export function parseRunStatus(value: string | undefined): RunStatus | undefined {
  if (value === undefined) return undefined;
  const status = RUN_STATUSES.find((s) => s === value);
  if (status === undefined) {
    throw new UsageError(`--status must be one of ${RUN_STATUSES.join(', ')}; got '${value}'`);
  }
  return status;
}

/** `--status failed,lost`: one status or several, comma-separated, each checked as parseRunStatus does. */
export function parseRunStatuses(value: string | undefined): RunStatus[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((part) => {
    const status = RUN_STATUSES.find((s) => s === part.trim());
    if (status === undefined) {
      throw new UsageError(`--status takes one or more of ${RUN_STATUSES.join(', ')}; got '${part}'`);
    }
    return status;
  });
}

/** The exit code of `hourglass run --wait`: the run's outcome, in the conventions of shells and timeout(1). */
export function exitCodeForStatus(status: RunStatus): number {
  switch (status) {
    case 'succeeded':
      return 0;
    case 'timed_out':
      return 124;
    case 'oom_killed':
      return 137;
    default:
      return 1;
  }
}
