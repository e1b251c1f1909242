import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessExecutor } from '../../src/adapters/process/process-executor.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import type { ExecutionSpec } from '../../src/ports/executor.js';
import {
  captureExecution,
  executionSpec,
  HOST_PATH,
  liveGroupMembers,
  type CapturedExecution,
} from '../support/executor-fixtures.js';

const spec = executionSpec;
const execute = captureExecution;

function assertGroupGone(pgid: number): void {
  assert.ok(Number.isInteger(pgid) && pgid > 1, `bad pgid ${pgid}`);
  assert.deepEqual(liveGroupMembers(pgid), [], `processes of group ${pgid} survived`);
  if (liveGroupMembers(pgid).length === 0) {
    try {
      process.kill(-pgid, 0);
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'ESRCH');
    }
  }
}

/**
 * Runs a script whose first output line is its shell's pid (`echo $$`): the leader of the run's process group.
 * At that first output, while the script still runs, it records the group's live processes, so that the final
 * "nothing survives" check is about a group that did exist; then `onReady` may stop the run.
 */
async function executeGroup(
  executor: ProcessExecutor,
  s: ExecutionSpec,
  onReady: (pgid: number) => void = () => undefined,
  signal?: AbortSignal,
): Promise<CapturedExecution & { pgid: number; membersAtReady: number[]; readyAt: number }> {
  let pgid = 0;
  let readyAt = 0;
  let membersAtReady: number[] = [];
  const run = await execute(executor, s, signal, (chunk) => {
    // `echo $$` is one small write, so the first chunk holds the whole pid line.
    const line = chunk.toString().split('\n')[0] ?? '';
    pgid = /^\d+$/.test(line) ? Number(line) : 0;
    readyAt = Date.now();
    if (pgid > 1) membersAtReady = liveGroupMembers(pgid);
    onReady(pgid);
  });
  assert.ok(pgid > 1, `the script printed no pid first: ${JSON.stringify(run.stdout)}`);
  assert.ok(membersAtReady.includes(pgid), `the shell ${pgid} did not lead a live group: ${membersAtReady}`);
  return { ...run, pgid, membersAtReady, readyAt };
}

describe('ProcessExecutor', () => {
  let scratchRoot: string;
  let executor: ProcessExecutor;

  before(() => {
    scratchRoot = mkdtempSync(join(tmpdir(), 'hourglass-exec-'));
    executor = new ProcessExecutor({ clock: systemClock, scratchRoot, killGraceMs: 200 });
  });
  after(() => rmSync(scratchRoot, { recursive: true, force: true }));

  it('runs a command to success, capturing stdout and stderr, in a scratch dir it removes after', async () => {
    const before = Date.now();
    const run = await execute(executor, spec(['sh', '-c', 'echo hello; echo oops >&2; pwd']));
    assert.deepEqual(run.result, { outcome: 'succeeded', exitCode: 0, reason: null });
    const [greeting, cwd] = run.stdout.trim().split('\n');
    assert.equal(greeting, 'hello');
    assert.equal(run.stderr, 'oops\n');
    assert.ok(cwd?.startsWith(scratchRoot), `cwd ${cwd} is not under the scratch root`);
    assert.equal(existsSync(cwd ?? ''), false, 'scratch dir removed');
    assert.equal(run.startedAt.length, 1);
    assert.ok((run.startedAt[0] ?? 0) >= before);
    assert.deepEqual(readdirSync(scratchRoot), []);
  });

  it('reports a non-zero exit as failed with its code', async () => {
    const run = await execute(executor, spec(['sh', '-c', 'exit 3']));
    assert.deepEqual(run.result, { outcome: 'failed', exitCode: 3, reason: 'exited with code 3' });
  });

  it('reports a death by a signal it did not send', async () => {
    const run = await execute(executor, spec(['sh', '-c', 'kill -KILL $$']));
    assert.deepEqual(run.result, { outcome: 'failed', exitCode: null, reason: 'killed by SIGKILL' });
  });

  it('reports a missing command without throwing', async () => {
    const run = await execute(executor, spec(['hourglass-no-such-command']));
    assert.deepEqual(run.result, {
      outcome: 'failed',
      exitCode: null,
      reason: 'command not found: hourglass-no-such-command',
    });
    assert.deepEqual(run.startedAt, []);
    assert.deepEqual(readdirSync(scratchRoot), []);
  });

  it('passes exactly the given environment', async () => {
    const run = await execute(
      executor,
      spec(['env'], { env: { PATH: HOST_PATH, HOURGLASS_RUN_ID: 'run_x', EMPTY: '' } }),
    );
    assert.equal(run.result.outcome, 'succeeded');
    assert.deepEqual(run.stdout.trim().split('\n').sort(), [
      'EMPTY=',
      'HOURGLASS_RUN_ID=run_x',
      `PATH=${HOST_PATH}`,
    ]);
  });

  it('times out: SIGTERM, then SIGKILL after the grace, and nothing of the group survives', async () => {
    // The shell and its children ignore SIGTERM, so only the SIGKILL after the grace ends them. That holds
    // only if the trap is set before the timeout fires: the first output comes after the trap, and the test
    // checks it came before the timeout could (so a very slow start fails clearly instead of passing wrongly).
    const timeoutMs = 700;
    const script = 'trap "" TERM; sleep 30 & echo $$; sleep 30';
    const started = Date.now();
    // Bounded above, too: without the SIGKILL the sleeps would hold the run for 30 s and it would still end
    // timed_out. Well after the SIGKILL is due, the test kills the group itself and fails.
    let overdue = false;
    let deadline: NodeJS.Timeout | undefined;
    const run = await executeGroup(executor, spec(['sh', '-c', script], { timeoutMs }), (pgid) => {
      deadline = setTimeout(() => {
        overdue = true;
        process.kill(-pgid, 'SIGKILL');
      }, 5000);
    });
    clearTimeout(deadline);
    const elapsed = Date.now() - started;
    assert.equal(overdue, false, `no SIGKILL ended the run: the test killed it after ${elapsed} ms`);
    assert.ok(run.readyAt - started < timeoutMs, 'the shell set its trap only after the timeout');
    assert.deepEqual(run.result, {
      outcome: 'timed_out',
      exitCode: null,
      reason: 'exceeded timeout of 700ms',
    });
    assert.ok(run.membersAtReady.length >= 2, `no background child in the group: ${run.membersAtReady}`);
    // SIGTERM changed nothing: the run ended with the SIGKILL, the grace (200 ms) after the timeout.
    assert.ok(elapsed >= timeoutMs + 150, `ended after ${elapsed} ms, before the SIGKILL was due`);
    assertGroupGone(run.pgid);
  });

  it('times out a command that stops on SIGTERM, with the reason in seconds', async () => {
    const started = Date.now();
    const run = await executeGroup(
      executor,
      spec(['sh', '-c', 'sleep 30 & echo $$; sleep 30'], { timeoutMs: 1000 }),
    );
    assert.ok(run.readyAt - started < 1000, 'the shell started only after the timeout');
    assert.deepEqual(run.result, { outcome: 'timed_out', exitCode: null, reason: 'exceeded timeout of 1s' });
    assert.ok(run.membersAtReady.length >= 2, `no background child in the group: ${run.membersAtReady}`);
    assertGroupGone(run.pgid);
  });

  it('kills background children left behind by a command that succeeded', async () => {
    const started = Date.now();
    const run = await execute(executor, spec(['sh', '-c', 'sleep 30 & echo $$']));
    assert.equal(run.result.outcome, 'succeeded');
    assert.ok(Date.now() - started < 5000, 'did not wait for the background child');
    assertGroupGone(Number(run.stdout.trim()));
  });

  it('stops the run as cancelled when the signal aborts, and nothing of the group survives', async () => {
    const controller = new AbortController();
    // Aborted once the shell has printed its pid: by then it and its background child are running.
    const run = await executeGroup(
      executor,
      spec(['sh', '-c', 'sleep 30 & echo $$; sleep 30']),
      () => controller.abort(),
      controller.signal,
    );
    assert.deepEqual(run.result, { outcome: 'cancelled', exitCode: null, reason: 'cancelled' });
    assert.ok(run.membersAtReady.length >= 2, `no background child in the group: ${run.membersAtReady}`);
    assertGroupGone(run.pgid);
    assert.deepEqual(readdirSync(scratchRoot), []);
  });

  it('does not start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const run = await execute(executor, spec(['sh', '-c', 'echo never']), controller.signal);
    assert.equal(run.result.outcome, 'cancelled');
    assert.deepEqual(run.startedAt, []);
  });
});
