// What follows one delivery attempt, as data: the retry schedule and how each answer is read. Exponential
// backoff with full jitter (each wait drawn uniformly from [0, its bound]), so that many deliveries failing
// together (an endpoint down) do not all come back at the same instant.
//
//   2xx                  succeeded
//   410 Gone             the webhook is disabled: this and every pending delivery of it stop
//   429, 5xx             retried after Retry-After when the endpoint gives one (capped), else the backoff
//   3xx                  retried like any failure: redirects are not followed (each hop would need the
//                        address check again, and a receiver has no reason to move its endpoint silently)
//   other 4xx, no answer retried (Standard Webhooks recommends it: a misconfigured receiver gets fixed)
//
// After the last attempt's failure the delivery is failed.

/** The bounds of the waits after attempts 1, 2, …: about 28 hours in all (half that on average). */
export const WEBHOOK_RETRY_BOUNDS_MS: readonly number[] = Object.freeze([
  5_000,
  30_000,
  2 * 60_000,
  10 * 60_000,
  30 * 60_000,
  3_600_000,
  2 * 3_600_000,
  4 * 3_600_000,
  8 * 3_600_000,
  12 * 3_600_000,
]);

/** A Retry-After longer than this is read as this. */
export const MAX_RETRY_AFTER_MS = 86_400_000;

export interface RetrySchedule {
  /** The waits' bounds after attempt 1, 2, …; its length + 1 is the number of attempts. */
  boundsMs: readonly number[];
}

export const DEFAULT_RETRY_SCHEDULE: Readonly<RetrySchedule> = Object.freeze({
  boundsMs: WEBHOOK_RETRY_BOUNDS_MS,
});

/** What an attempt got back: a status code (with the Retry-After header, if any), or an error before one. */
export type AttemptAnswer =
  { kind: 'response'; statusCode: number; retryAfter: string | null } | { kind: 'error'; message: string };

export type AttemptDecision =
  | { kind: 'succeeded' }
  | { kind: 'disable'; reason: string }
  | { kind: 'retry'; atMs: number; error: string }
  | { kind: 'failed'; error: string };

/** Retry-After in ms from `nowMs`: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(text);
  if (Number.isNaN(at) || !/[a-z]/i.test(text)) return null;
  return Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS);
}

function describe(answer: AttemptAnswer): string {
  return answer.kind === 'error' ? answer.message : `the endpoint answered ${answer.statusCode}`;
}

/**
 * The decision after attempt number `attempt` (1, 2, …). `random` draws from [0, 1): the jitter.
 */
export function decideAfterDeliveryAttempt(
  answer: AttemptAnswer,
  attempt: number,
  nowMs: number,
  random: () => number,
  schedule: RetrySchedule = DEFAULT_RETRY_SCHEDULE,
): AttemptDecision {
  if (answer.kind === 'response' && answer.statusCode >= 200 && answer.statusCode < 300) {
    return { kind: 'succeeded' };
  }
  if (answer.kind === 'response' && answer.statusCode === 410) {
    return { kind: 'disable', reason: 'the endpoint answered 410 Gone' };
  }
  const error = describe(answer);
  const bound = schedule.boundsMs[attempt - 1];
  if (bound === undefined) return { kind: 'failed', error };
  const honoured =
    answer.kind === 'response' && (answer.statusCode === 429 || answer.statusCode >= 500)
      ? parseRetryAfter(answer.retryAfter, nowMs)
      : null;
  const waitMs = honoured ?? Math.floor(random() * bound);
  return { kind: 'retry', atMs: nowMs + waitMs, error };
}
