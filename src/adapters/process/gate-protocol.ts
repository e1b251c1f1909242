// What the main thread and the gate opener's thread (gate-opener-thread.ts) say to each other. Kept apart from
// the thread's module so that importing these never starts a thread's loop.

import type { MessagePort } from 'node:worker_threads';

/** An entry's shared state word: whoever moves it out of `pending` first wins. */
export const GATE_PENDING = 0;
/** Claimed by the thread: the gate is being (or was) written. */
export const GATE_OPENING = 1;
/** Claimed by the main thread: the gate will never be written. */
export const GATE_CANCELLED = 2;

/** Main → thread, on the port given in workerData (read synchronously by the thread). */
export type GateRequest =
  { kind: 'open'; id: number; at: number; fd: number; state: Int32Array } | { kind: 'drop'; id: number };

/** Thread → main. `at`: epoch ms, sub-ms, when the byte was in the pipe (never before the start). */
export type GateReport =
  | { kind: 'ready' }
  | { kind: 'opened'; id: number; at: number }
  | { kind: 'failed'; id: number; error: string };

export interface GateThreadData {
  /** Marks the workerData as the gate opener's, so the module runs its loop only in its own thread. */
  role: 'hourglass-gate-opener';
  port: MessagePort;
  /** Doorbell: the main thread adds 1 and notifies after each message. */
  bell: Int32Array;
}
