// Schedules in real time, through the real server binary and its API: a per-second cron for 30 s, a restart
// in the middle under each catch-up mode, and two servers sharing one store through partition leases.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ServerProcess } from '../support/server-process.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface ApiRun {
  id: string;
  status: string;
  nominalTime: string;
  createdAt: string;
  lagMs: number | null;
}

async function runsOf(server: ServerProcess, key: string, scheduleId: string): Promise<ApiRun[]> {
  const runs: ApiRun[] = [];
  let cursor: string | null = null;
  do {
    const page = await server.request(
      'GET',
      `/v1/runs?scheduleId=${scheduleId}&limit=100${cursor === null ? '' : `&cursor=${cursor}`}`,
      { key },
    );
    assert.equal(page.status, 200, page.text);
    runs.push(...(page.body.items as ApiRun[]));
    cursor = page.body.nextCursor as string | null;
  } while (cursor !== null);
  return runs.sort((a, b) => Date.parse(a.nominalTime) - Date.parse(b.nominalTime));
}

/** Seconds between consecutive ticks that are more than one second apart (the gaps). */
function gaps(runs: ApiRun[]): number[] {
  const found: number[] = [];
  for (let i = 1; i < runs.length; i++) {
    const step = Date.parse(runs[i]?.nominalTime ?? '') - Date.parse(runs[i - 1]?.nominalTime ?? '');
    if (step !== 1000) found.push(step / 1000);
  }
  return found;
}

/** Runs fired late by catch-up: their timeline's `created` event says so. */
async function caughtUp(server: ServerProcess, key: string, runs: ApiRun[]): Promise<ApiRun[]> {
  const late: ApiRun[] = [];
  for (const run of runs) {
    const detail = await server.request('GET', `/v1/runs/${run.id}`, { key });
    const created = (detail.body.timeline as { type: string; detail: string | null }[])[0];
    if (created?.type === 'created' && /caught up/.test(created.detail ?? '')) late.push(run);
  }
  return late;
}

async function setUp(server: ServerProcess, command: string[]): Promise<string> {
  const { key } = await server.createTenant('acme', { runsPerSecond: 1000, runBurst: 1000 });
  const job = await server.request('POST', '/v1/jobs', { key, body: { name: 'tick', command } });
  assert.equal(job.status, 201, job.text);
  return key;
}

async function createSchedule(server: ServerProcess, key: string, body: object): Promise<string> {
  const created = await server.request('POST', '/v1/jobs/tick/schedules', { key, body });
  assert.equal(created.status, 201, created.text);
  return created.body.id as string;
}

async function metric(server: ServerProcess, name: string): Promise<number | null> {
  const text = (await server.request('GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.split(' ')[1]);
}

describe('schedules in real time', () => {
  const servers: ServerProcess[] = [];
  after(async () => {
    // All stopped before any data directory is removed: two servers share one, and removing it under a live
    // server fails (ENOTEMPTY) and would leave that server running, holding the test file open.
    for (const server of servers) await server.stop({ kill: true, cleanup: false });
    for (const server of servers) await server.stop({ cleanup: true });
  });

  it('a */1 cron gives exactly one run per second for 30 s, each run seeing its schedule and tick', async () => {
    const server = await ServerProcess.start();
    servers.push(server);
    const key = await setUp(server, ['sh', '-c', 'echo "$HOURGLASS_SCHEDULE_ID $HOURGLASS_SCHEDULED_TIME"']);
    const id = await createSchedule(server, key, { cron: '*/1 * * * * *' });
    await sleep(32_000);
    assert.equal((await server.request('POST', `/v1/schedules/${id}/pause`, { key })).status, 200);
    await sleep(1500);
    const runs = await runsOf(server, key, id);
    const first = Date.parse(runs[0]?.nominalTime ?? '');
    const window = runs.filter((run) => Date.parse(run.nominalTime) < first + 30_000);
    assert.equal(window.length, 30, 'thirty ticks in thirty seconds');
    assert.deepEqual(gaps(window), [], 'no gap and no duplicate');
    assert.equal(new Set(runs.map((r) => r.nominalTime)).size, runs.length);
    for (const run of window) {
      assert.equal(run.status, 'succeeded', `${run.id} ${run.status}`);
      assert.ok(run.lagMs !== null && run.lagMs >= 0 && run.lagMs < 1000, `lag ${run.lagMs} ms`);
    }
    const sample = window[5];
    assert.ok(sample);
    const log = await server.request('GET', `/v1/runs/${sample.id}/logs`, { key });
    assert.equal(log.text.trim(), `${id} ${sample.nominalTime}`);
  });

  it('a server killed and restarted loses no tick beyond what each catch-up mode says', async () => {
    // A short lease TTL: the new server waits for the killed one's leases to expire before it takes over.
    const args = ['--scheduler-lease-ttl-ms', '2000'];
    const first = await ServerProcess.start({ args });
    servers.push(first);
    const key = await setUp(first, ['true']);
    const ids = {
      all: await createSchedule(first, key, { every: '1s', catchup: { mode: 'all', maxRuns: 100 } }),
      latest: await createSchedule(first, key, { every: '1s', catchup: { mode: 'latest' } }),
      skip: await createSchedule(first, key, { every: '1s', catchup: { mode: 'skip' } }),
    };
    await sleep(4000);
    await first.stop({ kill: true, cleanup: false });
    const killedAt = Date.now();
    await sleep(5000);
    const restartingAt = Date.now();
    const second = await ServerProcess.start({
      dataDir: first.dataDir,
      env: { HOURGLASS_ADMIN_KEY: first.adminKey },
    });
    servers.push(second);
    await sleep(4000);
    for (const id of Object.values(ids)) await second.request('POST', `/v1/schedules/${id}/pause`, { key });
    await sleep(1000);

    const all = await runsOf(second, key, ids.all);
    assert.deepEqual(gaps(all), [], 'all: every missed tick ran');
    // Every tick the killed server cannot have fired (it fired at most its lead, under a second, ahead) and
    // that was already more than the late grace (a second) old when the new server began to start is missed:
    // catch-up must have run it. How many more were caught up depends on how long the start took.
    const allLate = new Set((await caughtUp(second, key, all)).map((run) => run.nominalTime));
    const surelyMissed = all.filter((run) => {
      const nominal = Date.parse(run.nominalTime);
      return nominal > killedAt + 1000 && nominal < restartingAt - 1000;
    });
    assert.ok(surelyMissed.length >= 2, `${surelyMissed.length} ticks in the outage`);
    for (const run of surelyMissed)
      assert.ok(allLate.has(run.nominalTime), `all: ${run.nominalTime} caught up`);

    const latest = await runsOf(second, key, ids.latest);
    assert.equal(gaps(latest).length, 1, `latest: one gap (${gaps(latest).join(', ')})`);
    const latestLate = await caughtUp(second, key, latest);
    assert.equal(latestLate.length, 1, 'latest: the most recent missed tick ran, once');
    // It is the last tick before the regular ones resumed: nothing between it and them is missing.
    const resumedAt = latest.indexOf(latestLate[0] as ApiRun);
    assert.deepEqual(gaps(latest.slice(resumedAt)), []);

    const skip = await runsOf(second, key, ids.skip);
    assert.equal(gaps(skip).length, 1, 'skip: one gap');
    assert.equal((await caughtUp(second, key, skip)).length, 0, 'skip: no missed tick ran');
    for (const runs of [all, latest, skip]) {
      assert.equal(new Set(runs.map((r) => r.nominalTime)).size, runs.length, 'no tick twice');
    }
  });

  it('two servers on one store share the partitions, never fire a tick twice, and take over within the TTL', async () => {
    const ttlMs = 2000;
    const args = ['--scheduler-lease-ttl-ms', String(ttlMs)];
    const a = await ServerProcess.start({ args });
    servers.push(a);
    const key = await setUp(a, ['true']);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push(await createSchedule(a, key, { every: '1s', catchup: { mode: 'all', maxRuns: 100 } }));
    }
    const b = await ServerProcess.start({
      dataDir: a.dataDir,
      args,
      env: { HOURGLASS_ADMIN_KEY: a.adminKey },
    });
    servers.push(b);
    let balanced = false;
    for (let i = 0; i < 40 && !balanced; i++) {
      await sleep(250);
      balanced =
        (await metric(a, 'hourglass_scheduler_partitions')) === 128 &&
        (await metric(b, 'hourglass_scheduler_partitions')) === 128;
    }
    assert.ok(balanced, 'the two servers hold half of the partitions each');
    await sleep(3000);

    await a.stop({ kill: true, cleanup: false });
    const killedAt = Date.now();
    let takenOverMs: number | null = null;
    while (takenOverMs === null && Date.now() - killedAt < 4 * ttlMs) {
      if ((await metric(b, 'hourglass_scheduler_partitions')) === 256) takenOverMs = Date.now() - killedAt;
      else await sleep(100);
    }
    assert.ok(takenOverMs !== null && takenOverMs <= ttlMs + 500, `taken over after ${takenOverMs} ms`);
    await sleep(3000);
    for (const id of ids) await b.request('POST', `/v1/schedules/${id}/pause`, { key });
    await sleep(1000);

    for (const id of ids) {
      const runs = await runsOf(b, key, id);
      assert.equal(new Set(runs.map((r) => r.nominalTime)).size, runs.length, 'no tick fired twice');
      assert.deepEqual(gaps(runs), [], `schedule ${id}: no tick lost across the takeover`);
    }
  });
});
