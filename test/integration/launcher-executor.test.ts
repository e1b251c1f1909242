// The process runtime through its launcher process: the worker's side of the Executor port is unchanged —
// output, start time (deferred starts included), result, cancel — and a launcher that dies fails the runs it
// held and is replaced for the next ones.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LauncherExecutor } from '../../src/adapters/process/launcher-executor.js';
import type { ExecutionSpec } from '../../src/ports/executor.js';
import { captureExecution, executionSpec, liveGroupMembers } from '../support/executor-fixtures.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const spec = (argv: string[], overrides: Partial<ExecutionSpec> = {}): ExecutionSpec =>
  executionSpec(argv, { runId: 'run_launcher', ...overrides });
const execute = captureExecution;

/** Pids of this process's children running the launcher. */
function launcherPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (ppid === process.pid && cmdline.includes('launcher-process.js')) pids.push(Number(name));
    } catch {
      continue; // it exited while we looked
    }
  }
  return pids;
}

describe('LauncherExecutor', () => {
  let scratchRoot: string;
  let executor: LauncherExecutor;

  before(() => {
    scratchRoot = mkdtempSync(join(tmpdir(), 'hourglass-launcher-'));
    executor = new LauncherExecutor({ scratchRoot, killGraceMs: 200 });
  });
  after(async () => {
    await executor.close();
    rmSync(scratchRoot, { recursive: true, force: true });
  });

  it('runs a command in a launcher process: its output byte for byte, its exit, its scratch dir removed', async () => {
    const before = Date.now();
    const run = await execute(executor, spec(['sh', '-c', 'printf "\\377\\000ok"; echo oops >&2; exit 3']));
    assert.deepEqual(run.result, { outcome: 'failed', exitCode: 3, reason: 'exited with code 3' });
    assert.deepEqual([...run.stdoutBytes], [0xff, 0x00, 0x6f, 0x6b]);
    assert.equal(run.stderr, 'oops\n');
    assert.equal(run.startedAt.length, 1);
    assert.ok((run.startedAt[0] ?? 0) >= before);
    assert.equal(launcherPids().length, 1, 'one launcher, a child of this process');
    assert.deepEqual(readdirSync(scratchRoot), []);
  });

  it('fails the runs of a launcher that dies, kills their processes, and starts a new one for the next run', async () => {
    let processGroup = 0;
    const held = execute(executor, spec(['sh', '-c', 'echo $$; sleep 30']), undefined, (chunk) => {
      processGroup = Number(chunk.toString().split('\n')[0]);
    });
    await sleep(300);
    assert.ok(processGroup > 1 && liveGroupMembers(processGroup).length > 0, 'the run is running');
    const [pid] = launcherPids();
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGKILL');
    const failed = await held;
    assert.equal(failed.result.outcome, 'failed');
    assert.match(failed.result.reason ?? '', /launcher process exited \(SIGKILL\)/);
    for (let i = 0; i < 20 && liveGroupMembers(processGroup).length > 0; i++) await sleep(50);
    assert.deepEqual(liveGroupMembers(processGroup), [], 'its processes went with it');

    const next = await execute(executor, spec(['sh', '-c', 'echo again']));
    assert.deepEqual([next.result.outcome, next.stdout], ['succeeded', 'again\n']);
    assert.notDeepEqual(launcherPids(), [pid]);
  });

  it('close() stops what still runs, and the launcher exits', async () => {
    const own = new LauncherExecutor({ scratchRoot, killGraceMs: 200 });
    const running = execute(own, spec(['sleep', '30']));
    await sleep(200);
    const launchers = launcherPids().length;
    await own.close();
    assert.equal((await running).result.outcome, 'cancelled');
    assert.equal(launcherPids().length, launchers - 1);
  });
});
