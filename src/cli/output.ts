// What the CLI prints: aligned tables and field lists for people, JSON for scripts (`--json`), and the small
// formatters they share. Results go to stdout; progress, status lines and errors go to stderr.

import { retryDelaySeconds } from '../core/run-state.js';
import type { Run } from '../sdk/index.js';

export function printOut(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printErr(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(value: unknown): void {
  printOut(JSON.stringify(value, null, 2));
}

/** Writes a chunk of streamed output, waiting when stdout's buffer is full (slow pipes, `| less`). */
export async function writeChunk(text: string): Promise<void> {
  if (process.stdout.write(text)) return;
  await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
}

/** Columns padded to their widest cell; the last column is not padded. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `label: value` lines with the values aligned. */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...fields.map(([label]) => label.length + 1));
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`).join('\n');
}

/** `2024-05-01T12:00:00.123Z` → `2024-05-01 12:00:00Z`; null → `-`. */
export function formatTime(iso: string | null): string {
  return iso === null ? '-' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** A duration for people: `0.4 ms`, `850 ms`, `12.3 s`, `4m05s`, `2h03m`; null → `-`. */
export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Number(ms.toFixed(1))} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(2))} s`;
  const totalSeconds = Math.round(ms / 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)}m${pad(totalSeconds % 60)}s`;
  return `${Math.floor(totalSeconds / 3600)}h${pad(Math.floor(totalSeconds / 60) % 60)}m`;
}

/** How long a run ran: from start to finish (or to now while it runs); null before it starts. */
export function runDurationMs(run: Pick<Run, 'startedAt' | 'finishedAt'>, now = Date.now()): number | null {
  if (run.startedAt === null) return null;
  const end = run.finishedAt === null ? now : Date.parse(run.finishedAt);
  return end - Date.parse(run.startedAt);
}

/** `succeeded, exit code 0, lag 2.1 ms, duration 1.25 s` (with the attempt and reason when they say something). */
export function formatRunOutcome(run: Run): string {
  const parts: string[] = [run.status];
  if (run.exitCode !== null) parts.push(`exit code ${run.exitCode}`);
  if (run.reason !== null) parts.push(`reason: ${run.reason}`);
  if (run.attempt > 1) parts.push(`attempt ${run.attempt}`);
  parts.push(`lag ${formatMs(run.lagMs)}`, `duration ${formatMs(runDurationMs(run))}`);
  return parts.join(', ');
}

export function orDash(value: string | number | null | undefined): string {
  return value === null || value === undefined || value === '' ? '-' : String(value);
}

/** A command line as one would type it, quoting only the words that need it. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word))).join(' ');
}

/**
 * The command that prints the next page, with the filters of this one: `more: hourglass runs list --job nightly
 * --cursor c_…` (flags without a value are left out).
 */
export function formatMoreHint(
  command: string,
  flags: readonly (readonly [string, string | undefined])[],
  cursor: string,
): string {
  const words = flags.flatMap(([flag, value]) => (value === undefined ? [] : [flag, value]));
  return `more: hourglass ${command} ${formatArgv([...words, '--cursor', cursor])}`;
}

/**
 * A page of a list command: with `--json`, the page as it came (`{items, nextCursor}`); otherwise its table on
 * stdout and, when there is more, the command for the next page on stderr, with this one's flags.
 */
export async function printPage<T>(
  page: { items: T[]; nextCursor: string | null },
  options: {
    json: boolean;
    command: string;
    flags: readonly (readonly [string, string | undefined])[];
    table: (items: T[]) => string | Promise<string>;
  },
): Promise<void> {
  if (options.json) {
    printJson(page);
    return;
  }
  printOut(await options.table(page.items));
  if (page.nextCursor !== null) printErr(formatMoreHint(options.command, options.flags, page.nextCursor));
}

/**
 * A retry policy as it plays out: `1 attempt, no retry`; `3 attempts: retried after 1 s, then 2 s`; past four
 * retries, the first three and where the doubling stops.
 */
export function formatRetry(retry: { maxAttempts: number; backoffSeconds: number }): string {
  const retries = retry.maxAttempts - 1;
  const attempts = `${retry.maxAttempts} attempt${retry.maxAttempts === 1 ? '' : 's'}`;
  if (retries < 1) return `${attempts}, no retry`;
  if (retry.backoffSeconds === 0) return `${attempts}: retried at once`;
  const first = retryDelaySeconds(retry, 1);
  if (retries > 1 && first === retryDelaySeconds(retry, retries))
    return `${attempts}: retried after ${first} s each`;
  const delays = Array.from({ length: retries }, (_, i) => `${retryDelaySeconds(retry, i + 1)} s`);
  if (delays.length === 1) return `${attempts}: retried after ${delays[0]}`;
  if (delays.length <= 4)
    return `${attempts}: retried after ${delays.slice(0, -1).join(', ')}, then ${delays.at(-1)}`;
  const last = retryDelaySeconds(retry, retries);
  return `${attempts}: retried after ${delays.slice(0, 3).join(', ')}, … doubling up to ${last} s`;
}
