// The messages between a worker and its launcher process (launcher-executor.ts, launcher-process.ts), sent
// over the child's IPC channel with structured-clone serialization (a chunk of output travels as bytes).

import type { ExecutionResult, ExecutionSpec } from '../../ports/executor.js';
import type { ProcessSandbox } from './process-sandbox.js';

/** Worker → launcher. */
export type LauncherRequest =
  | { type: 'execute'; id: number; spec: ExecutionSpec }
  /** Stop the execution (SIGTERM, grace, SIGKILL), or keep it from starting: its result says which. */
  | { type: 'abort'; id: number };

/** Launcher → worker, in the order they happened for each execution; `result` is the last. */
export type LauncherReport =
  | { type: 'spawned'; id: number; processGroup: number }
  | { type: 'started'; id: number; at: number }
  | { type: 'output'; id: number; stream: 'stdout' | 'stderr'; chunk: Uint8Array }
  | { type: 'result'; id: number; result: ExecutionResult };

/** What the launcher needs to build its process executor; passed as its only argument, in JSON. */
export interface LauncherOptions {
  scratchRoot: string;
  killGraceMs: number;
  /** What confines each run, as the worker found it at start (process-sandbox.ts); none when absent. */
  sandbox?: ProcessSandbox;
}
