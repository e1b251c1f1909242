// The filters of GET /v1/runs as a client writes them (a comma-separated status list, ISO 8601 bounds),
// checked and turned into the store's RunFilter. Each mistake is a validation_failed naming its field.

import { invalid } from '../core/errors.js';
import { isId } from '../core/ids.js';
import { RUN_STATUSES, type RunStatus } from '../core/run-state.js';
import type { RunFilter } from '../ports/store/run-store.js';
import { parseInstant } from './input-time.js';

export interface ListRunsInput {
  jobId?: string;
  scheduleId?: string;
  /** One status or several, comma-separated: `failed,timed_out`. */
  status?: string;
  /** ISO 8601: runs created at or after it (a scheduled run: its tick). */
  from?: string;
  /** ISO 8601: runs created before it; after `from`. */
  to?: string;
  limit: number;
  cursor?: string;
}

const KNOWN_STATUSES: ReadonlySet<string> = new Set(RUN_STATUSES);

export function parseStatuses(text: string): RunStatus[] {
  const statuses: RunStatus[] = [];
  for (const part of text.split(',')) {
    const status = part.trim();
    if (!KNOWN_STATUSES.has(status)) {
      const shown = status === '' ? 'an empty status' : `"${status.slice(0, 40)}"`;
      throw invalid('status', `${shown} is not a run status (${RUN_STATUSES.join(', ')})`);
    }
    if (!statuses.includes(status as RunStatus)) statuses.push(status as RunStatus);
  }
  return statuses;
}

/** The store's filter for `input`; the job filter is resolved by the caller (it may be a name). */
export function runFilterOf(input: ListRunsInput): Omit<RunFilter, 'jobId'> {
  if (input.cursor !== undefined && !isId('run', input.cursor)) {
    throw invalid('cursor', 'is not a cursor returned by this endpoint');
  }
  const filter: Omit<RunFilter, 'jobId'> = { limit: input.limit };
  if (input.cursor !== undefined) filter.cursor = input.cursor;
  if (input.scheduleId !== undefined) filter.scheduleId = input.scheduleId;
  if (input.status !== undefined) filter.statuses = parseStatuses(input.status);
  if (input.from !== undefined) filter.fromMs = parseInstant('from', input.from);
  if (input.to !== undefined) filter.toMs = parseInstant('to', input.to);
  if (filter.fromMs !== undefined && filter.toMs !== undefined && filter.fromMs >= filter.toMs) {
    throw invalid('from', 'must be before to');
  }
  return filter;
}
