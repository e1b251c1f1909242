// The process runtime with its forks in a launcher process (launcher-process.ts): the same executor, run in a
// small child that this one forks once and talks to over IPC. What the worker sees is the Executor port as
// before — start time, output, result, cancel — while the fork of each run, its scratch directory and the
// opening of its gate at the start time leave the worker's event loop.
//
// The launcher is started with the executor and again, on the next run, after it exits. If it exits during
// runs (a crash), the process group of each run it held (reported when spawned) is killed from here and the
// run fails with that reason. Closing stops what still runs, then disconnects it, and it exits.

import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type {
  ExecutionHooks,
  ExecutionResult,
  ExecutionSpec,
  Executor,
  ProcessIsolation,
} from '../../ports/executor.js';
import type { LauncherOptions, LauncherReport, LauncherRequest } from './launcher-protocol.js';
import { CANCELLED_BEFORE_START } from './process-executor.js';
import { killGroup } from './process-launch.js';
import { describeSandbox, NO_SANDBOX } from './process-sandbox.js';

const LAUNCHER = fileURLToPath(new URL('./launcher-process.js', import.meta.url));
/** The launcher's V8 heap: it holds a few objects per running execution; a small heap keeps its forks fast. */
const LAUNCHER_HEAP_MB = 64;
/** How long close() waits for the launcher to stop its runs and exit before it is killed. */
const CLOSE_WAIT_MS = 10_000;

interface Pending {
  hooks: ExecutionHooks;
  /** The run's process group once spawned: killed from here if the launcher dies. */
  processGroup: number | null;
  settle(result: ExecutionResult): void;
  /** Settled, whichever way. */
  ended: Promise<ExecutionResult>;
}

export class LauncherExecutor implements Executor {
  readonly runtime = 'process' as const;
  private launcher: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /** Starts the launcher at once: its boot (tens of ms) is not the first run's to wait for. */
  constructor(private readonly options: Readonly<LauncherOptions>) {
    this.running();
  }

  /** What the launcher's runs are confined by, for /readyz and job responses. */
  get isolation(): ProcessIsolation {
    return describeSandbox(this.options.sandbox ?? NO_SANDBOX);
  }

  execute(spec: ExecutionSpec, hooks: ExecutionHooks, signal: AbortSignal): Promise<ExecutionResult> {
    if (signal.aborted) return Promise.resolve(CANCELLED_BEFORE_START);
    const launcher = this.running();
    const id = this.nextId++;
    let settle: (result: ExecutionResult) => void = () => undefined;
    const ended = new Promise<ExecutionResult>((resolve) => {
      settle = resolve;
    });
    const onAbort = (): void => this.send(launcher, { type: 'abort', id });
    signal.addEventListener('abort', onAbort, { once: true });
    this.pending.set(id, {
      hooks,
      processGroup: null,
      ended,
      settle: (result) => {
        this.pending.delete(id);
        signal.removeEventListener('abort', onAbort);
        settle(result);
      },
    });
    this.send(launcher, { type: 'execute', id, spec });
    return ended;
  }

  /**
   * Stops what still runs (each execution ends with its own result, `cancelled`), then disconnects the
   * launcher, which exits; it is killed if this takes longer than CLOSE_WAIT_MS.
   */
  async close(): Promise<void> {
    const launcher = this.launcher;
    if (launcher === null || launcher.exitCode !== null || launcher.signalCode !== null) return;
    const exited = once(launcher, 'exit');
    const timer = setTimeout(() => launcher.kill('SIGKILL'), CLOSE_WAIT_MS);
    const ended = [...this.pending.values()].map(({ ended }) => ended);
    for (const id of this.pending.keys()) this.send(launcher, { type: 'abort', id });
    await Promise.race([Promise.all(ended), exited]);
    if (launcher.connected) launcher.disconnect();
    await exited;
    clearTimeout(timer);
  }

  private running(): ChildProcess {
    if (this.launcher !== null) return this.launcher;
    const launcher = fork(LAUNCHER, [JSON.stringify(this.options)], {
      // Nothing of the server's environment (which may hold a secret it was configured with): each run's
      // environment is built explicitly anyway, and the launcher needs only a PATH.
      env: launcherEnvironment(),
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [`--max-old-space-size=${LAUNCHER_HEAP_MB}`],
    });
    launcher.on('message', (message: LauncherReport) => this.onReport(message));
    let gone = false;
    const lose = (how: string): void => {
      if (gone) return;
      gone = true;
      if (this.launcher === launcher) this.launcher = null;
      const reason = `the launcher process ${how} during the run`;
      for (const pending of [...this.pending.values()]) {
        // Nobody else holds it now: the run must not go on unwatched.
        killGroup(pending.processGroup ?? undefined, 'SIGKILL');
        pending.settle({ outcome: 'failed', exitCode: null, reason });
      }
    };
    // A failed send is seen here too, and its exit follows; a fork that failed (no pid) may have no exit.
    launcher.on('error', (error) => {
      if (launcher.pid === undefined) lose(`could not be started (${error.message})`);
    });
    launcher.on('exit', (code, signal) => lose(`exited (${signal ?? `code ${code}`})`));
    this.launcher = launcher;
    return launcher;
  }

  private send(launcher: ChildProcess, request: LauncherRequest): void {
    if (!launcher.connected) return; // it is exiting: its exit settles what it held
    launcher.send(request, (error) => {
      if (error !== null && request.type === 'execute') {
        this.pending.get(request.id)?.settle({
          outcome: 'failed',
          exitCode: null,
          reason: `could not reach the launcher process: ${error.message}`,
        });
      }
    });
  }

  private onReport(report: LauncherReport): void {
    const pending = this.pending.get(report.id);
    if (pending === undefined) return;
    if (report.type === 'spawned') {
      pending.processGroup = report.processGroup;
      pending.hooks.onSpawned?.(report.processGroup);
    } else if (report.type === 'started') pending.hooks.onStarted(report.at);
    else if (report.type === 'output') {
      const { buffer, byteOffset, byteLength } = report.chunk;
      pending.hooks.onOutput(report.stream, Buffer.from(buffer, byteOffset, byteLength));
    } else pending.settle(report.result);
  }
}

function launcherEnvironment(): Record<string, string> {
  const path = process.env['PATH'];
  return path === undefined ? {} : { PATH: path };
}
