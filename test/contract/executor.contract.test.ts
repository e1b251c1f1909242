// The Executor contract: what every adapter of src/ports/executor.ts promises the worker agent
// (src/services/worker/attempt-runner.ts), run against each executor in EXECUTOR_FACTORIES. The agent hands
// over a spec, writes what onOutput gives into the run's log, records onStarted as the start, and stores the
// result: so each result's outcome, exit code and reason, the output and its order, the environment and argv
// the run sees, the start time, and that a run stopped (cancel, timeout, memory) leaves nothing on the host.
// Where executors differ by design (the kernel's OOM kill, a host process group, an image's environment) a test
// asks the factory's capability flags. Time is real: the runs are real processes and containers.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileLogStore, truncationMarker } from '../../src/adapters/files/file-log-store.js';
import type { ExecutionHooks, ExecutionResult, ExecutionSpec } from '../../src/ports/executor.js';
import { EXECUTOR_FACTORIES, KILL_GRACE_MS, type ExecutorUnderTest } from '../support/executor-factories.js';
import { liveGroupMembers } from '../support/executor-fixtures.js';

interface Observed {
  result: ExecutionResult;
  /** Each chunk as it came, with its stream and when (epoch ms). */
  chunks: { stream: 'stdout' | 'stderr'; data: Buffer; at: number }[];
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
  startedAt: number[];
  processGroups: number[];
}

/** Runs the spec to its end as the worker does, with every hook recorded; `onFirstOutput` may stop it. */
async function observe(
  subject: ExecutorUnderTest,
  spec: ExecutionSpec,
  signal: AbortSignal = new AbortController().signal,
  extra: Partial<ExecutionHooks> & { onFirstOutput?(): void } = {},
): Promise<Observed> {
  const chunks: Observed['chunks'] = [];
  const startedAt: number[] = [];
  const processGroups: number[] = [];
  const result = await subject.executor.execute(
    spec,
    {
      onStarted: (at) => startedAt.push(at),
      onOutput: (stream, data) => {
        chunks.push({ stream, data: Buffer.from(data), at: Date.now() });
        extra.onOutput?.(stream, data);
        if (chunks.length === 1) extra.onFirstOutput?.();
      },
      onSpawned: (group) => processGroups.push(group),
    },
    signal,
  );
  const of = (stream: 'stdout' | 'stderr'): Buffer =>
    Buffer.concat(chunks.filter((c) => c.stream === stream).map((c) => c.data));
  const stdoutBytes = of('stdout');
  return {
    result,
    chunks,
    stdout: stdoutBytes.toString(),
    stdoutBytes,
    stderr: of('stderr').toString(),
    startedAt,
    processGroups,
  };
}

/** The outcome, exit code and reason of a result (imageDigest and retryable are checked apart). */
const end = ({
  outcome,
  exitCode,
  reason,
}: ExecutionResult): Pick<ExecutionResult, 'outcome' | 'exitCode' | 'reason'> => ({
  outcome,
  exitCode,
  reason,
});

/** A `sleep` no other process on the host runs: its argument marks the run's processes (in a container too). */
function marker(): string {
  return String(70_000 + Math.floor(Math.random() * 29_000));
}

/** Live (not zombie) processes on the host running `sleep <mark>`. */
function sleepers(mark: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8') !== `sleep\0${mark}\0`) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z') found.push(Number(name));
    } catch {
      // gone while we looked
    }
  }
  return found;
}

/**
 * Kills every process of the run (each runs `sleep <mark>` or a script naming it) once `ms` have passed, so that
 * an executor that fails to stop a run fails the test instead of hanging it. Returns whether it had to.
 */
function watchdog(mark: string, ms: number): { overdue(): boolean; clear(): void } {
  let overdue = false;
  const timer = setTimeout(() => {
    overdue = true;
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(mark))
          process.kill(Number(name), 'SIGKILL');
      } catch {
        // gone while we looked
      }
    }
  }, ms);
  return { overdue: () => overdue, clear: () => clearTimeout(timer) };
}

/** Values a shell or a quoting bug would change: each must reach the run as written. */
const HOSTILE = [
  '',
  ' ',
  'two words',
  '$HOME',
  '${PATH}',
  '$(echo injected)',
  '`echo injected`',
  "it's",
  '"double"',
  'back\\slash',
  '*',
  '; exit 7',
  '&& echo injected',
  '| cat',
  '-n',
  '%s%d',
  'new\nline',
  'tab\there',
  'ünïcødé ✓',
];

for (const factory of EXECUTOR_FACTORIES) {
  describe(`Executor contract (${factory.name})`, { skip: factory.skip }, () => {
    let subject: ExecutorUnderTest;
    before(async () => {
      subject = await factory.create();
    });
    after(async () => {
      await subject?.close();
      subject?.destroy();
    });
    const spec = (argv: string[], overrides: Partial<ExecutionSpec> = {}): ExecutionSpec =>
      subject.spec(argv, overrides);
    const shell = (script: string, overrides: Partial<ExecutionSpec> = {}): ExecutionSpec =>
      spec(['sh', '-c', script], overrides);
    const assertNothingLeft = (): void => assert.deepEqual(subject.leftovers(), []);
    const deferredBy = (ms: number): number => Date.now() + ms;

    it('reports exit code 0 as succeeded and a non-zero one as failed with its code, each started once', async () => {
      const before = Date.now();
      const ok = await observe(subject, shell('exit 0'));
      assert.deepEqual(end(ok.result), { outcome: 'succeeded', exitCode: 0, reason: null });
      assert.equal(ok.result.imageDigest ?? null, factory.imageDigest);
      assert.equal(ok.startedAt.length, 1);
      assert.ok((ok.startedAt[0] ?? 0) >= before && (ok.startedAt[0] ?? 0) <= Date.now());
      for (const code of [1, 3, 255]) {
        const bad = await observe(subject, shell(`exit ${code}`));
        assert.deepEqual(end(bad.result), {
          outcome: 'failed',
          exitCode: code,
          reason: `exited with code ${code}`,
        });
        assert.equal(bad.startedAt.length, 1);
      }
      assertNothingLeft();
    });

    it('gives stdout byte for byte and stderr apart, in the order written, to a log that caps it', async () => {
      const logs = mkdtempSync(join(tmpdir(), 'hg-executor-logs-'));
      try {
        const logStore = new FileLogStore({ root: logs, maxBytes: 4096 });
        const ordered = shell(
          'printf "\\377\\000one\\n"; sleep 0.1; echo two >&2; sleep 0.1; echo three; sleep 0.1; echo four >&2',
        );
        const writer = logStore.open(ordered.runId);
        const run = await observe(subject, ordered, undefined, {
          onOutput: (_s, chunk) => writer.write(chunk),
        });
        await writer.close();
        assert.equal(run.result.outcome, 'succeeded', run.stderr);
        assert.deepEqual([...run.stdoutBytes], [0xff, 0x00, ...Buffer.from('one\nthree\n')]);
        assert.equal(run.stderr, 'two\nfour\n');
        const log = (await logStore.read(ordered.runId, 0, 1 << 20)).data;
        assert.deepEqual(
          log,
          Buffer.concat([Buffer.from([0xff, 0x00]), Buffer.from('one\ntwo\nthree\nfour\n')]),
        );

        // The executor passes everything on; the log keeps its cap and says where it cut.
        const loud = shell('dd if=/dev/zero bs=1024 count=256 2>/dev/null; echo tail >&2');
        const loudWriter = logStore.open(loud.runId);
        const flood = await observe(subject, loud, undefined, {
          onOutput: (_s, chunk) => loudWriter.write(chunk),
        });
        await loudWriter.close();
        assert.equal(flood.result.outcome, 'succeeded', flood.stderr);
        assert.equal(flood.stdoutBytes.length, 256 * 1024);
        assert.equal(flood.stderr, 'tail\n');
        const capped = (await logStore.read(loud.runId, 0, 1 << 20)).data;
        assert.deepEqual(capped, Buffer.concat([Buffer.alloc(4096), truncationMarker(4096)]));
      } finally {
        rmSync(logs, { recursive: true, force: true });
      }
      assertNothingLeft();
    });

    it('keeps the output of runs at the same time apart', async () => {
      const runs = await Promise.all(
        ['a', 'b', 'c'].map((name) =>
          observe(subject, shell(`for i in 1 2 3; do echo ${name}$i; sleep 0.05; done`)),
        ),
      );
      assert.deepEqual(
        runs.map((run) => run.stdout),
        ['a1\na2\na3\n', 'b1\nb2\nb3\n', 'c1\nc2\nc3\n'],
      );
      assertNothingLeft();
    });

    for (const [when, startAt] of [
      ['started now', (): null => null],
      ['started at a deferred start', (): number => deferredBy(300)],
    ] as const) {
      it(`passes argv and exactly the given environment, hostile characters literally, ${when}`, async () => {
        const args = await observe(subject, spec(['printf', '%s\\0', ...HOSTILE], { startAt: startAt() }));
        assert.equal(args.result.outcome, 'succeeded', args.stderr);
        assert.deepEqual(args.stdout.split('\0'), [...HOSTILE, '']);

        // Names a shell sets for itself (PWD, IFS, PPID, SHLVL) come through as given too, as do empty values.
        const env: Record<string, string> = {
          ...spec([]).env,
          PWD: '/given',
          IFS: 'x',
          PPID: '7',
          SHLVL: '9',
          EMPTY: '',
        };
        HOSTILE.forEach((value, i) => (env[`HG_HOSTILE_${i}`] = value));
        const listed = await observe(subject, spec(['env', '-0'], { env, startAt: startAt() }));
        assert.equal(listed.result.outcome, 'succeeded', listed.stderr);
        const seen = Object.fromEntries(
          listed.stdout
            .split('\0')
            .filter((entry) => entry !== '')
            .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
        );
        assert.deepEqual(seen, factory.environmentOf(env));
        assertNothingLeft();
      });
    }

    it('fails a command that does not exist, naming it, started now or deferred', async () => {
      for (const startAt of [null, deferredBy(300)]) {
        const run = await observe(subject, spec(['hourglass-no-such-command', 'arg'], { startAt }));
        assert.equal(run.result.outcome, 'failed', JSON.stringify(run.result));
        assert.match(`${run.result.reason ?? ''}\n${run.stderr}`, /hourglass-no-such-command/);
        assert.equal(run.stdout, '');
      }
      assertNothingLeft();
    });

    it('is cancelled when its signal aborts mid-run, and no process of it survives, however it ignores SIGTERM', async () => {
      const mark = marker();
      const controller = new AbortController();
      let abortedAt = 0;
      let runningAtAbort: number[] = [];
      const dog = watchdog(mark, KILL_GRACE_MS + 5000);
      const run = await observe(
        subject,
        shell(`trap "" TERM; sleep ${mark} & echo up; sleep ${mark}`),
        controller.signal,
        {
          // Aborted once its sleeps run (a forked child takes a moment to exec): there is something to stop.
          onFirstOutput: () =>
            void (async () => {
              for (let i = 0; i < 200 && sleepers(mark).length < 2; i++) await sleep(10);
              runningAtAbort = sleepers(mark);
              abortedAt = Date.now();
              controller.abort();
            })(),
        },
      );
      dog.clear();
      const took = Date.now() - abortedAt;
      assert.equal(dog.overdue(), false, 'no SIGKILL ended the cancelled run: the test killed it');
      assert.deepEqual(end(run.result), { outcome: 'cancelled', exitCode: null, reason: 'cancelled' });
      assert.ok(runningAtAbort.length >= 1, 'nothing ran when the run was cancelled');
      assert.ok(took < KILL_GRACE_MS + 3000, `stopped ${took} ms after the abort`);
      assert.deepEqual(sleepers(mark), [], 'a process of the run survived it');
      assertNothingLeft();
    });

    it('does not start when its signal is aborted already, nor when aborted before a deferred start', async () => {
      const controller = new AbortController();
      controller.abort();
      const never = await observe(subject, shell('echo ran'), controller.signal);
      assert.deepEqual(end(never.result), {
        outcome: 'cancelled',
        exitCode: null,
        reason: 'cancelled before start',
      });
      assert.deepEqual([never.startedAt, never.stdout], [[], '']);

      const early = new AbortController();
      const startAt = deferredBy(1500);
      const waiting = observe(subject, shell('echo ran', { startAt }), early.signal);
      await sleep(400); // prepared by now: a gated process or container, where the executor makes one ahead
      early.abort();
      const unstarted = await waiting;
      assert.ok(Date.now() < startAt, 'the cancel waited for the start time');
      assert.deepEqual(end(unstarted.result), {
        outcome: 'cancelled',
        exitCode: null,
        reason: 'cancelled before start',
      });
      assert.deepEqual([unstarted.startedAt, unstarted.stdout], [[], '']);
      assertNothingLeft();
    });

    it('times out at its timeout: SIGTERM, SIGKILL after the grace, nothing of it left', async () => {
      const mark = marker();
      const timeoutMs = 800;
      const began = Date.now();
      let upAt = 0;
      const dog = watchdog(mark, timeoutMs + KILL_GRACE_MS + 5000);
      const run = await observe(
        subject,
        shell(`trap "" TERM; sleep ${mark} & echo up; sleep ${mark}`, { timeoutMs }),
        undefined,
        { onFirstOutput: () => (upAt = Date.now()) },
      );
      dog.clear();
      const took = Date.now() - began;
      assert.equal(dog.overdue(), false, 'no SIGKILL ended the timed-out run: the test killed it');
      assert.ok(upAt - began < timeoutMs, 'the shell set its trap only after the timeout');
      assert.deepEqual(end(run.result), {
        outcome: 'timed_out',
        exitCode: null,
        reason: 'exceeded timeout of 800ms',
      });
      // SIGTERM changed nothing: the SIGKILL after the grace ended it, and did (not the test's own bound).
      assert.ok(took >= timeoutMs + KILL_GRACE_MS - 50, `ended after ${took} ms, before the SIGKILL was due`);
      assert.ok(took < timeoutMs + KILL_GRACE_MS + 5000, `ended after ${took} ms`);
      assert.deepEqual(sleepers(mark), [], 'a process of the run survived it');
      assertNothingLeft();
    });

    it('counts the timeout from a deferred start, not from the hand-over', async () => {
      const startAt = deferredBy(500);
      const mark = marker();
      const dog = watchdog(mark, 500 + 400 + KILL_GRACE_MS + 5000);
      const run = await observe(subject, shell(`echo up; sleep ${mark}`, { startAt, timeoutMs: 400 }));
      dog.clear();
      assert.equal(dog.overdue(), false, 'the timeout did not end the run: the test killed it');
      assert.deepEqual(end(run.result), {
        outcome: 'timed_out',
        exitCode: null,
        reason: 'exceeded timeout of 400ms',
      });
      assert.equal(run.stdout, 'up\n');
      assert.ok(Date.now() - startAt >= 400, `ended ${Date.now() - startAt} ms after its start`);
      assertNothingLeft();
    });

    it('starts a deferred run no earlier than its start time, and reports that as its start', async () => {
      for (const lead of [50, 600]) {
        const startAt = deferredBy(lead);
        const run = await observe(subject, shell('echo on time', { startAt }));
        assert.equal(run.result.outcome, 'succeeded', run.stderr);
        assert.equal(run.stdout, 'on time\n');
        assert.equal(run.startedAt.length, 1);
        const started = run.startedAt[0] ?? 0;
        assert.ok(started >= startAt, `reported a start ${startAt - started} ms early`);
        assert.ok(started - startAt < 1000, `reported a start ${started - startAt} ms late`);
        const firstOutput = run.chunks[0]?.at ?? 0;
        assert.ok(firstOutput >= startAt, `the run printed ${startAt - firstOutput} ms before its start`);
      }
      assertNothingLeft();
    });

    it('leaves no background child of a run that succeeded', async () => {
      const mark = marker();
      const began = Date.now();
      const run = await observe(subject, shell(`sleep ${mark} & echo left`));
      assert.equal(run.result.outcome, 'succeeded', run.stderr);
      assert.ok(Date.now() - began < 5000, 'waited for the background child');
      assert.deepEqual(sleepers(mark), [], 'the background child survived its run');
      assertNothingLeft();
    });

    // A test of a capability this executor does not have is not its test: not registered, so that a skip in
    // the output always means a missing runtime (test/support/required-services.ts).
    if (factory.reportsProcessGroup)
      it('reports its host process group, which nothing of the run outlives', async () => {
        const run = await observe(subject, shell(`sleep ${marker()} & echo $$`));
        assert.equal(run.result.outcome, 'succeeded', run.stderr);
        assert.deepEqual(run.processGroups, [Number(run.stdout.trim())]);
        assert.deepEqual(liveGroupMembers(run.processGroups[0] ?? 0), []);
      });

    it('never reports a memory hog succeeded; oom_killed where the kernel kills it', async () => {
      // dd allocates its block: one 300 MiB buffer, under a 64 MB limit.
      const run = await observe(
        subject,
        spec(['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=300M', 'count=1'], { memoryMb: 64 }),
      );
      if (factory.reportsOomKill) {
        assert.equal(run.result.outcome, 'oom_killed', `${JSON.stringify(run.result)} ${run.stderr}`);
        assert.match(run.result.reason ?? '', /memory limit of 64 MB/);
      } else {
        assert.equal(run.result.outcome, 'failed', `${JSON.stringify(run.result)} ${run.stderr}`);
      }
      assertNothingLeft();
    });

    it('closed, leaves nothing behind: no process, cgroup, container, bundle or scratch directory', async () => {
      const run = await observe(subject, shell('echo last'));
      assert.equal(run.result.outcome, 'succeeded');
      await subject.close();
      // A launcher or warm container may take a moment to be gone after close() resolves.
      for (let i = 0; i < 40 && subject.leftovers().length > 0; i++) await sleep(50);
      assertNothingLeft();
    });
  });
}
