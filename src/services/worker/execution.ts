// One execution: an attempt of a run in hand on this worker, from its launch until it is retired. It owns the
// abort signal that stops the attempt early and the first reason it was stopped. States:
//
//   executing ──stop(cause)──▶ stopping ──(recorded or released)──▶ retired
//       └────────────(ended, recorded)─────────────────────────────────┘
//
// The causes: a cancel (heartbeat answer or RunSignal), a fence (the heartbeat answers that the attempt is no
// longer this worker's: reaped, retried or finished; its result will be rejected), or the worker's stop(). Being
// retired means its slot and memory were given back to the agent, which does that once (see WorkerAgent.retire).

/** Why an execution was stopped early; the first cause wins. */
export type StopCause = 'cancel' | 'shutdown' | 'fenced';

export interface Execution {
  readonly runId: string;
  readonly attempt: number;
  /** The memory it reserves (its job's request) and its limit, given back to the worker when it is retired. */
  readonly memory: RunMemory;
  readonly controller: AbortController;
  stopCause: StopCause | null;
  /** Its slot and memory were given back (once its end is recorded, or at the latest when its task ends). */
  retired: boolean;
}

/** What a run takes from a worker's memory: its reservation, which packs, and its limit, which is bounded. */
export interface RunMemory {
  readonly requestMb: number;
  readonly limitMb: number;
}

export function createExecution(runId: string, attempt: number, memory: RunMemory): Execution {
  return { runId, attempt, memory, controller: new AbortController(), stopCause: null, retired: false };
}

export function stopExecution(execution: Execution, cause: StopCause): void {
  execution.stopCause ??= cause;
  execution.controller.abort();
}
