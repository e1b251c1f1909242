// The launcher: a small process a worker forks once, which runs the process executor on the worker's behalf.
// Every fork of a run's process blocks the event loop of the process that forks it, for longer the larger
// that process is (2.8 ms per run in a server at 200 runs/s: 42 % of its thread, docs/benchmarks.md); here
// the forks, the scratch directories and the gate thread cost this process's time, on another core, and the
// worker's thread keeps its store writes and its queue.
//
// When the worker goes (the IPC channel closes: a stop, or its crash), every run is stopped as a cancel
// would, and the launcher exits once they have ended.

import type { ExecutionSpec } from '../../ports/executor.js';
import { systemClock } from '../system/system-clock.js';
import type { LauncherOptions, LauncherReport, LauncherRequest } from './launcher-protocol.js';
import { ProcessExecutor } from './process-executor.js';

const options = JSON.parse(process.argv[2] ?? '{}') as LauncherOptions;
const executor = new ProcessExecutor({ clock: systemClock, ...options });
const running = new Map<number, { controller: AbortController; done: Promise<void> }>();

function report(message: LauncherReport): void {
  // After the worker is gone there is no one to tell.
  if (process.connected) process.send?.(message);
}

function execute(id: number, spec: ExecutionSpec): void {
  const controller = new AbortController();
  const hooks = {
    onSpawned: (processGroup: number) => report({ type: 'spawned', id, processGroup }),
    onStarted: (at: number) => report({ type: 'started', id, at }),
    onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => report({ type: 'output', id, stream, chunk }),
  };
  const done = executor
    .execute(spec, hooks, controller.signal)
    .catch((error: unknown) => ({
      outcome: 'failed' as const,
      exitCode: null,
      reason: `the launcher could not run it: ${error instanceof Error ? error.message : String(error)}`,
    }))
    .then((result) => report({ type: 'result', id, result }))
    .finally(() => running.delete(id));
  running.set(id, { controller, done });
}

process.on('message', (message: LauncherRequest) => {
  if (message.type === 'execute') execute(message.id, message.spec);
  else running.get(message.id)?.controller.abort();
});

process.on('disconnect', () => {
  void (async () => {
    for (const { controller } of running.values()) controller.abort();
    await Promise.all([...running.values()].map(({ done }) => done));
    await executor.close();
    process.exit(0);
  })();
});
