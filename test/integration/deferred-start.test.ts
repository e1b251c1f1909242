// The process executor's deferred start (pre-dispatch): a spec with `startAt` gets its process ready ahead and
// started at that time. Real processes; each one records its own start (`date +%s%N`) so the test checks what
// the process saw, not only what the executor reported.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessExecutor } from '../../src/adapters/process/process-executor.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import type { ExecutionSpec } from '../../src/ports/executor.js';
import { captureExecution, executionSpec } from '../support/executor-fixtures.js';

/** How late after its start time a process may begin on a busy 2-core test machine. */
const START_SLACK_MS = 25;

function spec(argv: string[], startAt: number | null, overrides: Partial<ExecutionSpec> = {}): ExecutionSpec {
  return executionSpec(argv, { runId: 'run_deferred', startAt, ...overrides });
}
const execute = captureExecution;

/** Live (not zombie) processes whose working directory is under `root`: an attempt's processes. */
function processesUnder(root: string): { pid: number; pgid: number; comm: string }[] {
  const found: { pid: number; pgid: number; comm: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readlinkSync(`/proc/${name}/cwd`).startsWith(root)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') found.push({ pid: Number(name), pgid: Number(fields[2]), comm });
    } catch {
      // gone while we looked, or not ours to read
    }
  }
  return found;
}

/** The epoch ms a process printed with `date +%s%N`, to the microsecond. */
function printedMs(line: string | undefined): number {
  assert.ok(line !== undefined && /^\d{19}$/.test(line), `not a date +%s%N line: ${line}`);
  return Number(BigInt(line) / 1000n) / 1000;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('ProcessExecutor: deferred start', () => {
  let scratchRoot: string;
  let executor: ProcessExecutor;

  before(() => {
    scratchRoot = mkdtempSync(join(tmpdir(), 'hourglass-deferred-'));
    executor = new ProcessExecutor({ clock: systemClock, scratchRoot, killGraceMs: 200 });
  });
  after(async () => {
    await executor.close();
    rmSync(scratchRoot, { recursive: true, force: true });
  });

  it('gets the process ready ahead and starts it at startAt, not before', async () => {
    const startAt = Date.now() + 400;
    const running = execute(executor, spec(['date', '+%s%N'], startAt));
    await sleep(200);
    // Ready ahead: a gated shell in the attempt's scratch directory, leading its own group, that ran nothing.
    const ready = processesUnder(scratchRoot);
    assert.equal(ready.length, 1, `expected one gated process: ${JSON.stringify(ready)}`);
    assert.equal(ready[0]?.comm, 'sh');
    assert.equal(ready[0]?.pgid, ready[0]?.pid);
    const run = await running;
    assert.deepEqual(run.result, { outcome: 'succeeded', exitCode: 0, reason: null });
    const began = printedMs(run.stdout.trim());
    assert.ok(began >= startAt, `the process began ${startAt - began} ms before startAt`);
    assert.ok(began - startAt < START_SLACK_MS, `the process began ${began - startAt} ms after startAt`);
    assert.equal(run.startedAt.length, 1);
    const reported = run.startedAt[0] ?? 0;
    assert.ok(reported >= startAt && reported <= began + 1, `reported start ${reported - startAt} ms`);
    assert.deepEqual(readdirSync(scratchRoot), []);
  });

  it('starts the process at startAt even while the event loop is blocked across it', async () => {
    // A fork or a long SQLite transaction blocks the loop for ms at a time: the gate is opened from a thread.
    const startAt = Date.now() + 400;
    const running = execute(executor, spec(['date', '+%s%N'], startAt));
    await sleep(Math.max(0, startAt - 100 - Date.now())); // gated by now
    const until = performance.now() + 250;
    while (performance.now() < until) {
      // busy: no timer of this loop can fire from 100 ms before the start to 150 ms after it
    }
    const run = await running;
    assert.equal(run.result.outcome, 'succeeded');
    const began = printedMs(run.stdout.trim());
    assert.ok(began >= startAt, `the process began ${startAt - began} ms before startAt`);
    assert.ok(began - startAt < START_SLACK_MS, `the process began ${began - startAt} ms after startAt`);
    const reported = run.startedAt[0] ?? 0;
    assert.ok(reported >= startAt && reported <= began + 1, `reported start ${reported - startAt} ms`);
  });

  it('starts a process due in a few ms at its time (too close to be worth a gate)', async () => {
    const startAt = Date.now() + 8;
    const run = await execute(executor, spec(['date', '+%s%N'], startAt));
    assert.equal(run.result.outcome, 'succeeded');
    assert.ok(printedMs(run.stdout.trim()) >= startAt);
    assert.ok((run.startedAt[0] ?? 0) >= startAt);
  });

  it('counts the timeout from the start, not from the hand-over', async () => {
    // Handed over 400 ms ahead with a 300 ms timeout: counted from the hand-over it would end before starting.
    const startAt = Date.now() + 400;
    const run = await execute(
      executor,
      spec(['sh', '-c', 'date +%s%N; sleep 30'], startAt, { timeoutMs: 300 }),
    );
    const ended = Date.now();
    assert.deepEqual(run.result, {
      outcome: 'timed_out',
      exitCode: null,
      reason: 'exceeded timeout of 300ms',
    });
    assert.equal(run.startedAt.length, 1);
    assert.ok(printedMs(run.stdout.split('\n')[0]) >= startAt);
    assert.ok(ended - startAt >= 300, `ended ${ended - startAt} ms after the start`);
  });

  it('cancelled before its start: the gated group is killed and the command never runs', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'hourglass-marker-')), 'ran');
    const controller = new AbortController();
    const startAt = Date.now() + 2000;
    const running = execute(executor, spec(['touch', marker], startAt), controller.signal);
    await sleep(200);
    const ready = processesUnder(scratchRoot);
    assert.equal(ready.length, 1, 'the gated process was not ready ahead');
    controller.abort();
    const run = await running;
    assert.deepEqual(run.result, { outcome: 'cancelled', exitCode: null, reason: 'cancelled before start' });
    assert.ok(Date.now() < startAt, 'the cancel waited for the start time');
    assert.deepEqual(run.startedAt, []);
    assert.deepEqual(processesUnder(scratchRoot), []);
    assert.throws(() => process.kill(-(ready[0]?.pid ?? 0), 0), { code: 'ESRCH' });
    await sleep(Math.max(0, startAt - Date.now()) + 50);
    assert.equal(existsSync(marker), false, 'the command ran after its cancel');
    assert.deepEqual(readdirSync(scratchRoot), []);
  });

  it('cancelled before anything was spawned: nothing is', async () => {
    const controller = new AbortController();
    const running = execute(executor, spec(['sleep', '30'], Date.now() + 1000), controller.signal);
    controller.abort(); // before the pacer's turn for the spawn
    const run = await running;
    assert.deepEqual(run.result, { outcome: 'cancelled', exitCode: null, reason: 'cancelled before start' });
    assert.deepEqual(run.startedAt, []);
  });

  it('cancelled after its start: stopped like any running process', async () => {
    const controller = new AbortController();
    const startAt = Date.now() + 200;
    const running = execute(executor, spec(['sleep', '30'], startAt), controller.signal);
    await sleep(400);
    controller.abort();
    const run = await running;
    assert.deepEqual(run.result, { outcome: 'cancelled', exitCode: null, reason: 'cancelled' });
    assert.equal(run.startedAt.length, 1);
    assert.deepEqual(processesUnder(scratchRoot), []);
  });

  it('fails a missing or non-executable command as a plain start does, without waiting for the start', async () => {
    const handedOver = Date.now();
    const missing = await execute(executor, spec(['hourglass-no-such-command'], handedOver + 1000));
    assert.ok(Date.now() - handedOver < 500, 'the failure waited for the start time');
    const plainMissing = await execute(executor, spec(['hourglass-no-such-command'], null));
    assert.deepEqual(missing.result, {
      outcome: 'failed',
      exitCode: null,
      reason: 'command not found: hourglass-no-such-command',
    });
    assert.deepEqual(missing.result, plainMissing.result);
    assert.deepEqual(missing.startedAt, []);

    const dir = mkdtempSync(join(tmpdir(), 'hourglass-noexec-'));
    const script = join(dir, 'script.sh');
    writeFileSync(script, '#!/bin/sh\necho hi\n');
    chmodSync(script, 0o644);
    try {
      const denied = await execute(executor, spec([script], Date.now() + 1000));
      const plainDenied = await execute(executor, spec([script], null));
      assert.deepEqual(denied.result, plainDenied.result);
      // root may read anything but still cannot exec a file with no execute bit
      assert.deepEqual(denied.result, {
        outcome: 'failed',
        exitCode: null,
        reason: `permission denied: ${script}`,
      });
      const onPath = await execute(executor, spec(['script.sh'], Date.now() + 1000, { env: { PATH: dir } }));
      assert.deepEqual(
        onPath.result,
        (await execute(executor, spec(['script.sh'], null, { env: { PATH: dir } }))).result,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(readdirSync(scratchRoot), []);
  });
});
