// How an attempt's end becomes its outcome, the same for every runtime: a stop the worker caused (timeout,
// cancel) names itself; the kernel's OOM kill is `oom_killed` unless the run succeeded anyway; otherwise the
// exit code, or the signal that ended it.

import type { AttemptOutcome } from './run-state.js';

/** Why the worker stopped an attempt early. */
export type StopCause = 'timed_out' | 'cancelled';

export interface AttemptEnd {
  outcome: Extract<AttemptOutcome, 'succeeded' | 'failed' | 'timed_out' | 'oom_killed' | 'cancelled'>;
  exitCode: number | null;
  reason: string | null;
}

/** An attempt stopped before its process started: nothing ran. */
export const CANCELLED_BEFORE_START: AttemptEnd = {
  outcome: 'cancelled',
  exitCode: null,
  reason: 'cancelled before start',
};

export function decideAttemptOutcome(
  stopCause: StopCause | null,
  started: boolean,
  code: number | null,
  exitSignal: NodeJS.Signals | null,
  spec: { timeoutMs: number; memoryMb: number },
  oomKilled: boolean,
): AttemptEnd {
  if (stopCause === 'timed_out') {
    return {
      outcome: 'timed_out',
      exitCode: code,
      reason: `exceeded timeout of ${formatDuration(spec.timeoutMs)}`,
    };
  }
  // The kernel killed a process of the run for its memory, and the run did not succeed (a shell whose child
  // was killed may still exit 0: its own verdict then stands).
  if (oomKilled && stopCause === null && code !== 0) {
    return {
      outcome: 'oom_killed',
      exitCode: code,
      reason: `exceeded its memory limit of ${spec.memoryMb} MB (killed by the kernel's OOM killer)`,
    };
  }
  if (stopCause === 'cancelled') {
    return started ? { outcome: 'cancelled', exitCode: code, reason: 'cancelled' } : CANCELLED_BEFORE_START;
  }
  if (code === 0) return { outcome: 'succeeded', exitCode: 0, reason: null };
  if (code !== null) return { outcome: 'failed', exitCode: code, reason: `exited with code ${code}` };
  return { outcome: 'failed', exitCode: null, reason: `killed by ${exitSignal ?? 'an unknown signal'}` };
}

export function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
