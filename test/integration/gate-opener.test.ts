// The gate opener on real time and real fds (here, files: a gate is whatever the fd is, and a file keeps what
// was written to it): gates open at their time, never before, from a thread the main event loop cannot hold
// up; a cancel that wins means nothing is ever written; the thread stops when idle or closed, and never keeps
// the process alive.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GateOpener, type GateEvents } from '../../src/adapters/process/gate-opener.js';

const dir = mkdtempSync(join(tmpdir(), 'hourglass-gates-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const preciseNow = (): number => performance.timeOrigin + performance.now();
/** How late a gate may open on a busy 2-core test machine (the thread has a core to itself only mostly). */
const OPEN_SLACK_MS = 5;

let files = 0;
function gateFile(): { fd: number; written: () => string; close: () => void } {
  const path = join(dir, `gate-${files++}`);
  const fd = openSync(path, 'w');
  return { fd, written: () => readFileSync(path, 'utf8'), close: () => closeSync(fd) };
}

/** Resolves with the report of one gate. */
function reported(): { events: GateEvents; result: Promise<{ at: number } | { failed: string }> } {
  let events: GateEvents = { opened: () => undefined, failed: () => undefined };
  const result = new Promise<{ at: number } | { failed: string }>((resolve) => {
    events = { opened: (at) => resolve({ at }), failed: (failed) => resolve({ failed }) };
  });
  return { events, result };
}

/** Blocks this thread's event loop, as a fork or a long SQLite transaction does. */
function blockLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy, by design
  }
}

describe('GateOpener', () => {
  it('opens each gate at its time, never before, while the event loop is blocked', async () => {
    const opener = new GateOpener();
    try {
      assert.equal(opener.accepts(500), true); // starting: far enough ahead
      const base = Date.now() + 400;
      const gates = Array.from({ length: 40 }, (_, i) => ({
        at: base + i * 3,
        file: gateFile(),
        ...reported(),
      }));
      for (const gate of gates) opener.open(gate.at, gate.file.fd, gate.events);
      // The whole span of the starts, and more: a main-thread timer could not fire in it at all.
      await sleep(Math.max(0, base - 50 - Date.now()));
      blockLoop(250);
      const lateness: number[] = [];
      for (const gate of gates) {
        const result = await gate.result;
        assert.ok('at' in result, `gate failed: ${JSON.stringify(result)}`);
        assert.equal(gate.file.written(), '\n');
        lateness.push(result.at - gate.at);
        gate.file.close();
      }
      lateness.sort((a, b) => a - b);
      assert.ok((lateness[0] ?? -1) >= 0, `a gate opened ${-(lateness[0] ?? 0)} ms early`);
      const p90 = lateness[Math.floor(lateness.length * 0.9)] ?? Infinity;
      assert.ok(p90 < OPEN_SLACK_MS, `gates opened late: p90 ${p90} ms (${lateness.join(', ')})`);
      assert.equal(opener.state(), 'ready');
    } finally {
      await opener.close();
    }
  });

  it('never writes a gate whose cancel won, even right at its time; a lost cancel is reported opened', async () => {
    const opener = new GateOpener();
    try {
      opener.accepts(1000);
      const base = Date.now() + 300;
      const gates = Array.from({ length: 60 }, (_, i) => {
        const gate = { at: base + Math.floor(i / 3) * 10, file: gateFile(), ...reported() };
        return { ...gate, cancel: opener.open(gate.at, gate.file.fd, gate.events), won: false };
      });
      // Cancel each around its own time: some just before, some just after (a race the state word decides).
      for (const [i, gate] of gates.entries()) {
        const cancelAt = gate.at + ((i % 3) - 1) * 0.3;
        while (preciseNow() < cancelAt) {
          // waiting on the clock, to hit the race
        }
        gate.won = gate.cancel();
        assert.equal(gate.cancel(), gate.won, 'a second cancel changed its answer');
      }
      await sleep(50);
      for (const gate of gates) {
        if (gate.won) assert.equal(gate.file.written(), '', 'a cancelled gate was written');
        else {
          assert.ok('at' in (await gate.result), 'a lost cancel was not reported opened');
          assert.equal(gate.file.written(), '\n');
        }
        gate.file.close();
      }
      assert.ok(
        gates.some((gate) => gate.won),
        'no cancel won: the race was not exercised',
      );
    } finally {
      await opener.close();
    }
  });

  it('fails the gates still waiting when closed, and writes none of them', async () => {
    const opener = new GateOpener();
    opener.accepts(1000);
    const gate = { file: gateFile(), ...reported() };
    opener.open(Date.now() + 200, gate.file.fd, gate.events);
    await opener.close();
    assert.deepEqual(await gate.result, { failed: 'the gate opener was closed' });
    assert.equal(opener.state(), 'stopped');
    await sleep(250);
    assert.equal(gate.file.written(), '');
    gate.file.close();
  });

  it('stops its thread when idle, and starts it again when needed', async () => {
    const opener = new GateOpener({ idleStopMs: 100 });
    try {
      const first = { file: gateFile(), ...reported() };
      opener.open(Date.now() + 300, first.file.fd, first.events);
      assert.ok('at' in (await first.result));
      await sleep(250);
      assert.equal(opener.state(), 'stopped');
      const second = { file: gateFile(), ...reported() };
      opener.open(Date.now() + 300, second.file.fd, second.events);
      assert.equal(opener.state(), 'starting');
      assert.ok('at' in (await second.result));
      assert.equal(second.file.written(), '\n');
      first.file.close();
      second.file.close();
    } finally {
      await opener.close();
    }
  });

  it('keeps the process alive while a gate waits, and not after', () => {
    const module = fileURLToPath(new URL('../../src/adapters/process/gate-opener.js', import.meta.url));
    const path = join(dir, 'alive');
    const script = [
      `import { openSync } from 'node:fs';`,
      `import { GateOpener } from ${JSON.stringify(module)};`,
      `const opener = new GateOpener();`,
      `opener.open(Date.now() + 300, openSync(${JSON.stringify(path)}, 'w'), {`,
      `  opened: () => console.log('opened'), failed: (r) => console.log(r) });`,
    ].join('\n');
    const began = Date.now();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout, 'opened\n');
    assert.equal(readFileSync(path, 'utf8'), '\n');
    assert.ok(Date.now() - began < 3000, `the process took ${Date.now() - began} ms to exit`);
  });
});
