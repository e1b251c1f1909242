// The gate opener: one per process executor, the main thread's handle on the thread that opens the gates of
// gated launches at their start times (gate-opener-thread.ts, which says why it is a thread). It owns that
// thread and the entries handed to it.
//
// The thread is started on first use and stopped once no entry has been waiting for a while (or on close());
// it keeps the process alive only while an entry waits (as a timer would). A thread takes tens of ms to start: while it starts it
// takes only starts far enough ahead (accepts), and callers open the others' gates themselves. States:
//
//   stopped ──use──▶ starting ──ready──▶ ready ──idle / close()──▶ stopped
//                       └──────────────────┴──thread died──▶ stopped (its entries fail)
//
// An entry: waiting ──(the thread opened it, or could not)──▶ reported (opened(at) or failed())
//              └──cancel() won──▶ cancelled (never written)
// cancel() loses only once the thread has claimed the entry; its report then follows.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import {
  GATE_CANCELLED,
  GATE_PENDING,
  type GateReport,
  type GateRequest,
  type GateThreadData,
} from './gate-protocol.js';

export interface GateEvents {
  /** The gate was opened at `at` (epoch ms, sub-ms, never before the requested time). */
  opened(at: number): void;
  /** The gate could not be written (its shell is gone), or the thread died: it was not opened by us. */
  failed(reason: string): void;
}

/** Cancels an entry: true if the gate will never be written, false if the thread already claimed it. */
export type CancelGate = () => boolean;

interface Waiting {
  state: Int32Array;
  events: GateEvents;
}

export interface GateOpenerOptions {
  /** How long the thread is kept with nothing to open. */
  idleStopMs?: number;
}

/** An idle thread costs only memory (a few MB); restarting one costs tens of ms of another core. */
const DEFAULT_IDLE_STOP_MS = 10_000;
/**
 * While the thread starts, a start at least this far ahead is still handed to it: its requests wait on the
 * port and are read as soon as it runs. A thread was measured to start in 50–60 ms on a loaded 2-core VM.
 */
const STARTUP_ALLOWANCE_MS = 250;

export class GateOpener {
  private worker: Worker | null = null;
  private port: MessagePort | null = null;
  private bell: Int32Array | null = null;
  private isReady = false;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly idleStopMs: number;

  constructor(options: GateOpenerOptions = {}) {
    this.idleStopMs = options.idleStopMs ?? DEFAULT_IDLE_STOP_MS;
  }

  /**
   * Whether a gate to open `leadMs` from now can be handed to the thread and be opened on time: when it is up,
   * or still starting and the start is far enough ahead. Starts the thread when it is not running.
   */
  accepts(leadMs: number): boolean {
    if (this.worker === null) this.start();
    return this.isReady || leadMs >= STARTUP_ALLOWANCE_MS;
  }

  /** stopped, starting or ready: for tests and diagnostics. */
  state(): 'stopped' | 'starting' | 'ready' {
    if (this.worker === null) return 'stopped';
    return this.isReady ? 'ready' : 'starting';
  }

  /** Has the gate whose pipe end is `fd` written at `at`. The fd must stay open until reported or cancelled. */
  open(at: number, fd: number, events: GateEvents): CancelGate {
    if (this.worker === null) this.start();
    const id = this.nextId++;
    const state = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    this.waiting.set(id, { state, events });
    this.worker?.ref();
    this.clearIdle();
    this.send({ kind: 'open', id, at, fd, state });
    return () => {
      if (Atomics.compareExchange(state, 0, GATE_PENDING, GATE_CANCELLED) !== GATE_PENDING) {
        return Atomics.load(state, 0) === GATE_CANCELLED; // twice is harmless
      }
      this.waiting.delete(id);
      this.send({ kind: 'drop', id });
      this.armIdle();
      return true;
    };
  }

  /** Stops the thread now; entries still waiting fail (their gates stay shut, unless already claimed). */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === null) return;
    const entries = this.detach();
    await worker.terminate();
    // Only now: a claimed entry's gate may be closed by its owner once the thread can no longer write it.
    failAll(entries, 'the gate opener was closed');
  }

  private start(): void {
    const { port1, port2 } = new MessageChannel();
    const bell = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    const workerData: GateThreadData = { role: 'hourglass-gate-opener', port: port2, bell };
    const worker = new Worker(new URL('./gate-opener-thread.js', import.meta.url), {
      name: 'hourglass-gate-opener',
      // The parent's flags are for the parent (`-e`, `--test`, loaders): this thread needs none of them.
      execArgv: [],
      workerData,
      transferList: [port2],
    });
    let crash = '';
    worker.on('message', (report: GateReport) => this.onReport(report));
    // 'exit' follows, and is what is acted on.
    worker.on('error', (error) => (crash = `: ${error instanceof Error ? error.message : String(error)}`));
    worker.on('exit', () => {
      // Not closed by us: it died (it has exited, so it writes nothing more).
      if (this.worker === worker) failAll(this.detach(), `the gate opener thread exited${crash}`);
    });
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    port1.unref();
    this.worker = worker;
    this.port = port1;
    this.bell = bell;
    this.isReady = false;
  }

  private send(request: GateRequest): void {
    if (this.port === null || this.bell === null) return;
    this.port.postMessage(request);
    Atomics.add(this.bell, 0, 1);
    Atomics.notify(this.bell, 0);
  }

  private onReport(report: GateReport): void {
    if (report.kind === 'ready') {
      this.isReady = true;
      this.armIdle();
      return;
    }
    const entry = this.waiting.get(report.id);
    if (entry === undefined) return;
    this.waiting.delete(report.id);
    this.armIdle();
    if (report.kind === 'opened') entry.events.opened(report.at);
    else entry.events.failed(`the gate could not be opened: ${report.error}`);
  }

  /** Forgets the thread; returns its entries, those it had not claimed cancelled (it can no longer open them). */
  private detach(): Waiting[] {
    this.clearIdle();
    this.port?.close();
    this.worker = null;
    this.port = null;
    this.bell = null;
    this.isReady = false;
    const entries = [...this.waiting.values()];
    this.waiting.clear();
    for (const entry of entries) Atomics.compareExchange(entry.state, 0, GATE_PENDING, GATE_CANCELLED);
    return entries;
  }

  /** Once nothing waits: the thread no longer keeps the process alive, and is stopped if it stays idle. */
  private armIdle(): void {
    if (this.waiting.size > 0 || this.worker === null || this.idleTimer !== null) return;
    this.worker.unref();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.waiting.size > 0 || this.worker === null) return;
      const worker = this.worker;
      this.detach();
      void worker.terminate();
    }, this.idleStopMs);
    this.idleTimer.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

/** A claimed entry may or may not have been written: it fails too, and its launch is stopped by its owner. */
function failAll(entries: Waiting[], reason: string): void {
  for (const entry of entries) entry.events.failed(reason);
}
