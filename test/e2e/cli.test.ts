// The real `hourglass` binary against the real server: the five-minute tour of the README, and exit codes
// that scripts can rely on.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nextNewYorkFallBack } from '../support/dst-transitions.js';
import { runCli, ServerProcess, type CliResult } from '../support/server-process.js';

describe('hourglass CLI', () => {
  let server: ServerProcess;
  let env: Record<string, string>;

  const cli = (...args: string[]): Promise<CliResult> =>
    runCli(args, { PATH: process.env['PATH'] ?? '', ...env });

  before(async () => {
    server = await ServerProcess.start();
    const { key } = await server.createTenant('cli');
    env = { HOURGLASS_URL: server.url, HOURGLASS_API_KEY: key };
  });
  after(() => server.stop());

  it('creates a job and runs it with --wait, printing its output and status', async () => {
    const created = await cli('jobs', 'create', 'hello', '--', 'sh', '-c', 'echo "hello from hourglass"');
    assert.equal(created.code, 0, created.stderr);
    const run = await cli('run', 'hello', '--wait');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'hello from hourglass\n');
    assert.match(run.stderr, /succeeded/);
  });

  it('exits with the run’s outcome: 1 for failed, 124 for timed out', async () => {
    await cli('jobs', 'create', 'bad', '--', 'sh', '-c', 'echo broken >&2; exit 7');
    const failed = await cli('run', 'bad', '--wait');
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /failed/);
    assert.match(failed.stderr, /7/);
    assert.equal(failed.stdout, 'broken\n');
    // logs --follow only streams: 0 once the log ends, even for a failed run; 1 for an unknown run.
    const list = await cli('runs', 'list', '--job', 'bad', '--json');
    const failedRun = JSON.parse(list.stdout).items[0].id as string;
    const followed = await cli('logs', failedRun, '--follow');
    assert.deepEqual([followed.code, followed.stdout], [0, 'broken\n'], followed.stderr);
    const unknown = await cli('logs', 'run_01m8trck0arb1g0aa8c3nw5f9x', '--follow');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /not_found, runId/);

    await cli('jobs', 'create', 'slow', '--timeout', '1', '--', 'sleep', '30');
    const slow = await cli('run', 'slow', '--wait');
    assert.equal(slow.code, 124, slow.stderr);
    assert.match(slow.stderr, /timed_out/);
  });

  it('follows logs live and lists, gets and cancels runs', async () => {
    await cli('jobs', 'create', 'count', '--', 'sh', '-c', 'for i in 1 2 3; do echo $i; sleep 0.1; done');
    const followed = await cli('run', 'count', '--follow');
    assert.equal(followed.code, 0, followed.stderr);
    assert.equal(followed.stdout, '1\n2\n3\n');

    const list = await cli('runs', 'list', '--job', 'count', '--json');
    assert.equal(list.code, 0, list.stderr);
    const runs = JSON.parse(list.stdout);
    const items = Array.isArray(runs) ? runs : runs.items;
    assert.equal(items.length, 1);
    assert.equal(items[0].status, 'succeeded');

    const got = await cli('runs', 'get', items[0].id);
    assert.equal(got.code, 0);
    assert.match(got.stdout, /succeeded/);

    await cli('jobs', 'create', 'forever', '--', 'sleep', '60');
    const started = await cli('run', 'forever');
    const runId = started.stdout.trim();
    await server.waitForRun(env['HOURGLASS_API_KEY'] ?? '', runId, ['running']);
    const cancel = await cli('runs', 'cancel', runId);
    assert.equal(cancel.code, 0, cancel.stderr);
    const final = await server.waitForRun(env['HOURGLASS_API_KEY'] ?? '', runId);
    assert.equal(final.status, 'cancelled');
  });

  it('lists runs by job name, and its more: hint keeps the filters', async () => {
    assert.equal((await cli('run', 'hello', '--wait')).code, 0);
    const first = await cli('runs', 'list', '--job', 'hello', '--status', 'succeeded', '--limit', '1');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^ID\s+JOB\s+STATUS/);
    assert.match(first.stdout, /\nrun_\S+\s+hello\s+succeeded/);
    const hint = /^more: hourglass (runs list --job hello --status succeeded --limit 1 --cursor \S+)$/m.exec(
      first.stderr,
    );
    assert.ok(hint?.[1] !== undefined, first.stderr);
    const next = await cli(...hint[1].split(' '));
    assert.equal(next.code, 0, next.stderr);
    const ids = [first, next].map((page) => /\n(run_\S+)\s+hello\s+succeeded/.exec(page.stdout)?.[1]);
    assert.ok(ids[1] !== undefined && ids[1] !== ids[0], next.stdout);

    // Without --job, names come from the jobs list.
    const unfiltered = await cli('runs', 'list', '--limit', '50');
    assert.equal(unfiltered.code, 0, unfiltered.stderr);
    assert.match(unfiltered.stdout, /\nrun_\S+\s+hello\s+/);
    assert.doesNotMatch(unfiltered.stdout, /\sjob_/);
  });

  it('lists a deleted job’s runs by its id, and says not_found for a job it does not have', async () => {
    await cli('jobs', 'create', 'doomed', '--', 'true');
    assert.equal((await cli('run', 'doomed', '--wait')).code, 0);
    const jobId = JSON.parse((await cli('jobs', 'get', 'doomed', '--json')).stdout).id as string;
    assert.equal((await cli('jobs', 'delete', 'doomed')).code, 0);
    // The job has no name any more, so its id stands in the JOB column.
    const runs = await cli('runs', 'list', '--job', jobId);
    assert.equal(runs.code, 0, runs.stderr);
    assert.match(runs.stdout, new RegExp(`\\nrun_\\S+\\s+${jobId}\\s+succeeded`));
    const schedules = await cli('schedules', 'list', '--job', jobId, '--json');
    assert.equal(schedules.code, 0, schedules.stderr);
    assert.deepEqual(JSON.parse(schedules.stdout).items, []);
    for (const command of ['runs', 'schedules']) {
      const unknown = await cli(command, 'list', '--job', 'doomed');
      assert.equal(unknown.code, 1, `${command}: ${unknown.stdout}`);
      assert.match(unknown.stderr, /not_found, jobId/);
    }
  });

  it('reports API errors without a stack trace, and bad usage with exit code 2', async () => {
    const missing = await cli('run', 'no-such-job', '--wait');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not_found/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /);
    const usage = await cli('jobs', 'frobnicate');
    assert.equal(usage.code, 2);
    const badKey = await cli('jobs', 'list', '--api-key', 'hg_wrong');
    assert.equal(badKey.code, 1);
    assert.match(badKey.stderr, /unauthorized/);
  });

  it('creates, lists, previews, pauses, resumes and deletes a schedule', async () => {
    await cli('jobs', 'create', 'nightly', '--', 'true');
    const { day, startAt } = nextNewYorkFallBack();
    const created = await cli(
      'schedules',
      'create',
      'nightly',
      '--cron',
      '30 1 * * *',
      '--timezone',
      'America/New_York',
      '--start-at',
      startAt,
      '--overlap',
      'skip',
      '--catchup',
      'all',
      '--catchup-max-runs',
      '3',
      '--json',
    );
    assert.equal(created.code, 0, created.stderr);
    const schedule = JSON.parse(created.stdout);
    assert.deepEqual(
      [
        schedule.cron,
        schedule.timezone,
        schedule.overlapPolicy,
        schedule.catchup.mode,
        schedule.catchup.maxRuns,
      ],
      ['0 30 1 * * *', 'America/New_York', 'skip', 'all', 3],
    );

    const list = await cli('schedules', 'list', '--job', 'nightly');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ID\s+JOB\s+WHEN\s+STATE\s+NEXT\s+OVERLAP/);
    assert.match(
      list.stdout,
      new RegExp(`${schedule.id}\\s+nightly\\s+0 30 1 \\* \\* \\* \\(America/New_York\\)\\s+active`),
    );

    const preview = await cli('schedules', 'preview', schedule.id, '--count', '4');
    assert.equal(preview.code, 0, preview.stderr);
    const fallBack = preview.stdout.split('\n').find((line) => line.includes(`${day}T01:30:00-04:00`));
    assert.match(fallBack ?? '', /occurs twice that day \(clocks go back\): the first/, preview.stdout);

    const paused = await cli('schedules', 'pause', schedule.id);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /State:\s+paused/);
    const resumed = await cli('schedules', 'resume', schedule.id, '--json');
    assert.equal(JSON.parse(resumed.stdout).paused, false);
    const updated = await cli('schedules', 'update', schedule.id, '--every', '1h', '--json');
    assert.equal(updated.code, 0, updated.stderr);
    assert.deepEqual([JSON.parse(updated.stdout).every, JSON.parse(updated.stdout).cron], ['1h', null]);

    const runs = await cli('runs', 'list', '--schedule', schedule.id, '--json');
    assert.equal(runs.code, 0, runs.stderr);
    assert.deepEqual(JSON.parse(runs.stdout).items, []);

    const removed = await cli('schedules', 'delete', schedule.id);
    assert.equal(removed.code, 0, removed.stderr);
    const gone = await cli('schedules', 'get', schedule.id);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /not_found, scheduleId/);
  });

  it('refuses bad schedules: usage errors exit 2, API errors exit 1 naming the field', async () => {
    await cli('jobs', 'create', 'sched-bad', '--', 'true');
    const both = await cli('schedules', 'create', 'sched-bad', '--cron', '* * * * *', '--every', '1m');
    assert.equal(both.code, 2);
    const neither = await cli('schedules', 'create', 'sched-bad');
    assert.equal(neither.code, 2);
    const overlap = await cli('schedules', 'create', 'sched-bad', '--every', '1m', '--overlap', 'queue');
    assert.equal(overlap.code, 2);
    assert.match(overlap.stderr, /--overlap must be one of allow, skip, buffer_one, replace/);
    const zero = await cli('schedules', 'create', 'sched-bad', '--every', '0s');
    assert.equal(zero.code, 1);
    assert.match(zero.stderr, /validation_failed, every/);
    const zone = await cli(
      'schedules',
      'create',
      'sched-bad',
      '--cron',
      '0 * * * *',
      '--timezone',
      'Mars/Base',
    );
    assert.equal(zone.code, 1);
    assert.match(zone.stderr, /validation_failed, timezone/);
    assert.doesNotMatch(zone.stderr, /\n\s+at /);
  });

  it('starts a run at a given time with run --at', async () => {
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const later = await cli('run', 'hello', '--at', runAt, '--json');
    assert.equal(later.code, 0, later.stderr);
    const run = JSON.parse(later.stdout);
    assert.deepEqual([run.status, run.nominalTime, run.dueAt], ['queued', runAt, runAt]);
    const past = await cli('run', 'hello', '--at', '2020-01-01T00:00:00Z');
    assert.equal(past.code, 1);
    assert.match(past.stderr, /validation_failed, runAt/);
    await cli('runs', 'cancel', run.id);
  });

  it('manages tenants and keys with the admin key', async () => {
    const adminEnv = { HOURGLASS_URL: server.url, HOURGLASS_ADMIN_KEY: server.adminKey };
    const saved = env;
    env = adminEnv;
    try {
      const tenant = await cli('tenants', 'create', 'acme', '--json');
      assert.equal(tenant.code, 0, tenant.stderr);
      const tenantId = JSON.parse(tenant.stdout).id;
      const key = await cli('keys', 'create', '--tenant', tenantId);
      assert.equal(key.code, 0, key.stderr);
      assert.match(key.stdout.trim(), /^hg_/);
      env = { HOURGLASS_URL: server.url, HOURGLASS_API_KEY: key.stdout.trim() };
      assert.equal((await cli('jobs', 'list')).code, 0);
    } finally {
      env = saved;
    }
  });
});
