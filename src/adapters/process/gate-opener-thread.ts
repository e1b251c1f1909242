// The gate opener's thread (a worker_thread, one per process executor): it opens the gates of gated launches
// at their start times. It exists because the main event loop is blocked for milliseconds at a time by every
// fork and by the scheduler's SQLite transactions; this thread does nothing else, so nothing blocks it.
//
// It never returns to its own event loop: it sleeps in Atomics.wait on a doorbell word (rung by the main
// thread after each message) until a little before the earliest start, takes its messages synchronously
// (receiveMessageOnPort), then spins the last fraction of a millisecond on the wall clock and writes one byte
// to the gate's pipe — the raw fd of the main thread's end, shared by the whole process.
//
// Each entry has a shared state word; whoever moves it out of `pending` first wins:
//
//   pending ──(this thread, at its time)──▶ opening ──write──▶ reported (opened, or failed: the shell was gone)
//      └──(main thread: cancel)──▶ cancelled (never written; the thread drops it)
//
// The main thread keeps the pipe open until the entry is reported or it won the cancel, so the fd written
// here is always the gate's (a closed fd could have been reused by any other file).

import { writeSync } from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import {
  GATE_OPENING,
  GATE_PENDING,
  type GateReport,
  type GateRequest,
  type GateThreadData,
} from './gate-protocol.js';

interface Entry {
  id: number;
  at: number;
  fd: number;
  state: Int32Array;
}

/**
 * How long before a start the sleep ends and the spin begins: a futex wake-up is typically 50–100 µs late
 * on an idle core and more on a busy one; a longer spin costs CPU on every start (at 200 starts/s, 0.5 ms is
 * a tenth of a core).
 */
const SPIN_MS = 0.5;
/** A spin gives up (and sleeps again) if the start is still this far off: the wall clock was stepped back. */
const MAX_SPIN_MS = 5;
/** Two clock readings further apart than this (the thread was preempted) do not calibrate the offset. */
const CALIBRATION_WINDOW_MS = 0.02;

function runGateThread(data: GateThreadData, report: (message: GateReport) => void): never {
  const { port, bell } = data;
  const entries: Entry[] = [];
  // Wall clock = performance.now() + offset, to a few µs: Date.now() has whole ms only. Refined every time
  // Date.now() is seen to tick while spinning; the monotonic clock drifts from the wall clock by ppm.
  // Until calibrated, an estimate that errs early (Date.now() is floored): a longer spin, never a late wake.
  let offset = Date.now() + 1 - performance.now();
  let lastWall = -1;
  let lastRead = -Infinity;
  const observeTick = (): number => {
    const read = performance.now();
    const wall = Date.now();
    // The tick happened between the previous reading and this one: close together, `read` dates it.
    if (wall !== lastWall && read - lastRead < CALIBRATION_WINDOW_MS) offset = wall - read;
    lastWall = wall;
    lastRead = read;
    return wall;
  };
  const spinUntilTick = performance.now() + 2;
  while (performance.now() < spinUntilTick) observeTick(); // calibrates once before any start

  const drain = (): void => {
    for (
      let message = receiveMessageOnPort(port);
      message !== undefined;
      message = receiveMessageOnPort(port)
    ) {
      const request = message.message as GateRequest;
      if (request.kind === 'open') insert(entries, { ...request });
      else {
        const index = entries.findIndex((e) => e.id === request.id);
        if (index >= 0) entries.splice(index, 1);
      }
    }
  };
  const open = (entry: Entry): void => {
    if (Atomics.compareExchange(entry.state, 0, GATE_PENDING, GATE_OPENING) !== GATE_PENDING) return;
    // Read before the write: the write wakes the gated shell, which may take this core from this thread
    // for milliseconds (measured: a release reported 5 ms after the process had printed its own start).
    // Never before the start: the wall clock read ≥ `at` before this.
    const at = Math.max(performance.now() + offset, entry.at);
    try {
      writeSync(entry.fd, '\n');
    } catch (error) {
      // EPIPE: the gated shell is gone (killed); its exit is what the main thread acts on.
      report({ kind: 'failed', id: entry.id, error: (error as NodeJS.ErrnoException).code ?? String(error) });
      return;
    }
    report({ kind: 'opened', id: entry.id, at });
  };

  report({ kind: 'ready' });
  for (;;) {
    const rung = Atomics.load(bell, 0);
    drain();
    const head = entries[0];
    if (head === undefined) {
      Atomics.wait(bell, 0, rung);
      continue;
    }
    if (Atomics.load(head.state, 0) !== GATE_PENDING) {
      entries.shift(); // cancelled: dropped without a message
      continue;
    }
    const sleepMs = head.at - (performance.now() + offset) - SPIN_MS;
    if (sleepMs > 0) {
      Atomics.wait(bell, 0, rung, sleepMs); // woken early by a new message, which may come first
      continue;
    }
    // Date.now() ≥ at means the wall clock has reached `at` (it is floored to the ms): never early.
    const giveUp = performance.now() + MAX_SPIN_MS;
    let wall = observeTick();
    while (wall < head.at && performance.now() < giveUp) wall = observeTick();
    if (wall < head.at) continue;
    while (entries[0] !== undefined && entries[0].at <= wall) open(entries.shift() as Entry);
  }
}

/** Inserts in order of `at`, after entries with the same time (equal times open in the order given). */
function insert(list: Entry[], entry: Entry): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as Entry).at <= entry.at) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, entry);
}

const data = workerData as Partial<GateThreadData> | null;
if (parentPort !== null && data?.role === 'hourglass-gate-opener') {
  const reportTo = parentPort;
  runGateThread(data as GateThreadData, (message) => reportTo.postMessage(message));
}
