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

  it('reports a death by a signal it did not send', async () => {
    const run = await execute(executor, spec(['sh', '-c', 'kill -KILL $$']));
    assert.deepEqual(run.result, { outcome: 'failed', exitCode: null, reason: 'killed by SIGKILL' });
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
});
