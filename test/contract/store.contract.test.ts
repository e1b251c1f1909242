// The Store contract: what every adapter of src/ports/store.ts must do, run against each adapter in
// STORE_FACTORIES. It uses only the Store interface (and the factory's open/destroy), so a new adapter
// joins by adding a factory. Each test gets a new, empty database and removes it afterwards. Schedules,
// leases and firing have their own suites (schedule-store, lease-store, fire-store).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HourglassError } from '../../src/core/errors.js';
import type { Job } from '../../src/core/job.js';
import type { ApiKey } from '../../src/core/tenant.js';
import type { Store } from '../../src/ports/store.js';
import { NO_JOB_LIMIT, STORE_FACTORIES } from '../support/store-factories.js';
import {
  clock,
  tick,
  id,
  withStore,
  makeTenant,
  makeJob,
  makeRun,
  seedJob,
  seedRun,
  seedRunning,
  mustGetRun,
  eventTypes,
  attemptResult,
  held,
  isNameTaken,
} from './store-fixtures.js';
import { seedSchedule } from './schedule-fixtures.js';

for (const factory of STORE_FACTORIES) {
  const test = (name: string, body: (store: Store) => Promise<void>) =>
    it(name, () => withStore(factory, body));

  describe(`Store contract (${factory.name}): meta, tenants and API keys`, () => {
    test('meta values can be set, read and overwritten', async (store) => {
      assert.equal(await store.getMeta('missing'), null);
      await store.setMeta('instance', 'one');
      await store.setMeta('instance', 'two');
      assert.equal(await store.getMeta('instance'), 'two');
    });

    test('tenants round-trip with their limits', async (store) => {
      const a = makeTenant();
      const b = makeTenant();
      await store.createTenant(b);
      await store.createTenant(a);
      assert.deepEqual(await store.getTenant(a.id), a);
      assert.equal(await store.getTenant(id('tenant')), null);
      const listed = await store.listTenants();
      assert.deepEqual(
        listed.map((t) => t.id),
        [a.id, b.id],
      );
    });

    test("a tenant's limits are replaced by an update, and only that tenant's", async (store) => {
      const a = makeTenant();
      const b = makeTenant();
      await store.createTenant(a);
      await store.createTenant(b);
      const limits = { ...a.limits, allowHostCommands: true, maxJobs: 3 };
      assert.deepEqual(await store.updateTenantLimits(a.id, limits), { ...a, limits });
      assert.deepEqual(await store.getTenant(a.id), { ...a, limits });
      assert.deepEqual(await store.getTenant(b.id), b);
      assert.equal(await store.updateTenantLimits(id('tenant'), limits), null);
    });

    test('API keys are found by id and hash, revoked ones included, and revoked once', async (store) => {
      const tenant = makeTenant();
      await store.createTenant(tenant);
      const key: ApiKey = {
        id: id('apiKey'),
        tenantId: tenant.id,
        scope: 'tenant',
        prefix: 'hg_abcd',
        secretHash: 'a'.repeat(64),
        name: 'ci',
        createdAt: tick(),
        revokedAt: null,
        lastUsedAt: null,
      };
      const admin: ApiKey = {
        ...key,
        id: id('apiKey'),
        tenantId: null,
        scope: 'admin',
        secretHash: 'b'.repeat(64),
        name: null,
      };
      await store.createApiKey(key);
      await store.createApiKey(admin);
      assert.deepEqual(await store.getApiKey(key.id), key);
      assert.deepEqual(await store.findApiKeyByHash(admin.secretHash), admin);
      assert.equal(await store.findApiKeyByHash('c'.repeat(64)), null);

      const revokedAt = tick();
      await store.revokeApiKey(key.id, revokedAt);
      await store.revokeApiKey(key.id, tick());
      assert.deepEqual(await store.findApiKeyByHash(key.secretHash), { ...key, revokedAt });
    });

    test('revokeOtherAdminKeys revokes every other live admin key, and only those', async (store) => {
      const tenant = makeTenant();
      await store.createTenant(tenant);
      let n = 0;
      const makeKey = (overrides: Partial<ApiKey>): ApiKey => ({
        id: id('apiKey'),
        tenantId: null,
        scope: 'admin',
        prefix: 'hg_abcd',
        secretHash: String(++n).padStart(64, '0'),
        name: null,
        createdAt: tick(),
        revokedAt: null,
        lastUsedAt: null,
        ...overrides,
      });
      const kept = makeKey({});
      const other = makeKey({});
      const another = makeKey({ name: 'old' });
      const alreadyRevoked = makeKey({ revokedAt: tick() });
      const tenantKey = makeKey({ tenantId: tenant.id, scope: 'tenant' });
      for (const key of [kept, other, another, alreadyRevoked, tenantKey]) await store.createApiKey(key);

      const at = tick();
      assert.equal(await store.revokeOtherAdminKeys(kept.id, at), 2);
      assert.deepEqual(await store.getApiKey(kept.id), kept);
      assert.deepEqual(await store.getApiKey(other.id), { ...other, revokedAt: at });
      assert.deepEqual(await store.getApiKey(another.id), { ...another, revokedAt: at });
      assert.deepEqual(await store.getApiKey(alreadyRevoked.id), alreadyRevoked, 'revoked once only');
      assert.deepEqual(await store.getApiKey(tenantKey.id), tenantKey);
      assert.equal(await store.revokeOtherAdminKeys(kept.id, tick()), 0);
      // Keeping a key that does not exist revokes them all.
      assert.equal(await store.revokeOtherAdminKeys(id('apiKey'), at), 1);
      assert.equal((await store.getApiKey(kept.id))?.revokedAt, at);
    });

    test('listApiKeys lists every key or one tenant’s; recordApiKeyUse keeps the latest use', async (store) => {
      const [a, b] = [makeTenant(), makeTenant()];
      await store.createTenant(a);
      await store.createTenant(b);
      const base = { prefix: 'hg_abcd', name: null, createdAt: tick(), revokedAt: null, lastUsedAt: null };
      const keys: ApiKey[] = [
        { ...base, id: id('apiKey'), tenantId: null, scope: 'admin', secretHash: '1'.repeat(64) },
        { ...base, id: id('apiKey'), tenantId: a.id, scope: 'tenant', secretHash: '2'.repeat(64) },
        { ...base, id: id('apiKey'), tenantId: b.id, scope: 'tenant', secretHash: '3'.repeat(64) },
        { ...base, id: id('apiKey'), tenantId: a.id, scope: 'tenant', secretHash: '4'.repeat(64) },
      ];
      for (const key of keys) await store.createApiKey(key);
      const byId = (list: ApiKey[]) => list.map((k) => k.id);
      assert.deepEqual(byId(await store.listApiKeys(null)), byId(keys).sort());
      assert.deepEqual(byId(await store.listApiKeys(a.id)), [keys[1]!.id, keys[3]!.id].sort());
      assert.deepEqual(await store.listApiKeys(makeTenant().id), []);

      const key = keys[1]!;
      await store.recordApiKeyUse(key.id, 10_000, 10_000 - 60_000);
      assert.equal((await store.getApiKey(key.id))?.lastUsedAt, 10_000);
      await store.recordApiKeyUse(key.id, 20_000, 20_000 - 60_000); // used at 10,000: after the bound
      assert.equal((await store.getApiKey(key.id))?.lastUsedAt, 10_000);
      await store.recordApiKeyUse(key.id, 70_000, 70_000 - 60_000);
      assert.equal((await store.getApiKey(key.id))?.lastUsedAt, 70_000);
      assert.equal((await store.getApiKey(keys[3]!.id))?.lastUsedAt, null, 'only that key');
    });
  });

  describe(`Store contract (${factory.name}): jobs`, () => {
    test('a job round-trips and is found by id or name, in its tenant only', async (store) => {
      const job = await seedJob(store, { image: null, env: {}, args: [] });
      assert.deepEqual(await store.findJob(job.tenantId, job.id), job);
      assert.deepEqual(await store.findJob(job.tenantId, job.name), job);
      const other = makeTenant();
      await store.createTenant(other);
      assert.equal(await store.findJob(other.id, job.id), null);
      assert.equal(await store.findJob(other.id, job.name), null);
      assert.deepEqual(await store.listJobs(other.id, 10), { items: [], nextCursor: null });
      assert.equal((await store.listJobs(other.id, 500)).items.length, 0);
    });

    test('a live job name is unique per tenant, on insert and on update', async (store) => {
      const job = await seedJob(store, { name: 'nightly' });
      await assert.rejects(
        store.insertJob(makeJob(job.tenantId, { name: 'nightly' }), NO_JOB_LIMIT),
        isNameTaken,
      );
      const second = makeJob(job.tenantId, { name: 'hourly' });
      await store.insertJob(second, NO_JOB_LIMIT);
      await assert.rejects(store.updateJob({ ...second, name: 'nightly' }), isNameTaken);
      // Another tenant may use the same name.
      const other = makeTenant();
      await store.createTenant(other);
      await store.insertJob(makeJob(other.id, { name: 'nightly' }), NO_JOB_LIMIT);
    });

    test('insertJob keeps a tenant within its job limit, counting live jobs only', async (store) => {
      const first = await seedJob(store);
      const isLimit = (error: unknown) =>
        error instanceof HourglassError && error.code === 'plan_limit_exceeded';
      await assert.rejects(store.insertJob(makeJob(first.tenantId), 1), isLimit);
      assert.equal((await store.listJobs(first.tenantId, 500)).items.length, 1);
      await store.insertJob(makeJob(first.tenantId), 2);
      await store.deleteJob(first.tenantId, first.id, tick());
      await store.insertJob(makeJob(first.tenantId), 2);
      assert.equal((await store.listJobs(first.tenantId, 500)).items.length, 2);
    });

    test('updateJob replaces the definition', async (store) => {
      const job = await seedJob(store);
      const updated: Job = {
        ...job,
        name: 'renamed',
        image: null,
        command: ['/bin/true'],
        env: {},
        resources: { memoryMb: 512 },
        retry: { maxAttempts: 1, backoffSeconds: 10 },
        updatedAt: tick(),
      };
      await store.updateJob(updated);
      assert.deepEqual(await store.findJob(job.tenantId, 'renamed'), updated);
      assert.equal(await store.findJob(job.tenantId, job.name), null);
    });

    test('a deleted job is gone from reads, and its name can be reused', async (store) => {
      const job = await seedJob(store, { name: 'nightly' });
      await store.deleteJob(job.tenantId, job.id, tick());
      assert.equal(await store.findJob(job.tenantId, job.id), null);
      assert.equal(await store.findJob(job.tenantId, 'nightly'), null);
      assert.equal((await store.listJobs(job.tenantId, 500)).items.length, 0);
      const reborn = makeJob(job.tenantId, { name: 'nightly' });
      await store.insertJob(reborn, NO_JOB_LIMIT);
      assert.deepEqual(await store.findJob(job.tenantId, 'nightly'), reborn);
    });

    test('listJobs pages in id order', async (store) => {
      const first = await seedJob(store);
      const jobs = [first];
      for (let i = 0; i < 4; i++) {
        const job = makeJob(first.tenantId);
        await store.insertJob(job, NO_JOB_LIMIT);
        jobs.push(job);
      }
      const p1 = await store.listJobs(first.tenantId, 2);
      assert.deepEqual(p1.items, jobs.slice(0, 2));
      assert.equal(p1.nextCursor, jobs[1]?.id);
      const p2 = await store.listJobs(first.tenantId, 2, p1.nextCursor ?? undefined);
      assert.deepEqual(p2.items, jobs.slice(2, 4));
      const p3 = await store.listJobs(first.tenantId, 2, p2.nextCursor ?? undefined);
      assert.deepEqual(p3, { items: jobs.slice(4), nextCursor: null });
      // An exact fit has no next page.
      assert.equal((await store.listJobs(first.tenantId, 5)).nextCursor, null);
      assert.equal((await store.listJobs(first.tenantId, 500)).items.length, 5);
    });
  });

  describe(`Store contract (${factory.name}): creating and listing runs`, () => {
    test('insertRun stores the run exactly, with a created event, in its tenant only', async (store) => {
      const job = await seedJob(store);
      const run = makeRun(job, { args: ['x'], env: { A: '1' }, scheduleId: 'sch_1', idempotencyKey: 'k1' });
      assert.deepEqual(await store.insertRun({ run, requestHash: 'h1' }), { inserted: true, run });
      assert.deepEqual(await store.getRun(job.tenantId, run.id), run);
      assert.deepEqual(await store.getRunEvents(run.id), [
        { at: run.createdAt, type: 'created', attempt: 1, status: 'queued', detail: null },
      ]);
      const other = makeTenant();
      await store.createTenant(other);
      assert.equal(await store.getRun(other.id, run.id), null);
      assert.deepEqual(await store.listRuns(other.id, { limit: 10 }), { items: [], nextCursor: null });
    });

    test('a repeated idempotency key returns the first run and compares the request', async (store) => {
      const job = await seedJob(store);
      const first = makeRun(job, { idempotencyKey: 'key-1' });
      await store.insertRun({ run: first, requestHash: 'h1' });
      const again = makeRun(job, { idempotencyKey: 'key-1' });
      assert.deepEqual(await store.insertRun({ run: again, requestHash: 'h1' }), {
        inserted: false,
        run: first,
        sameRequest: true,
      });
      const different = await store.insertRun({
        run: makeRun(job, { idempotencyKey: 'key-1' }),
        requestHash: 'h2',
      });
      assert.deepEqual(different, { inserted: false, run: first, sameRequest: false });
      assert.equal(await store.getRun(job.tenantId, again.id), null);
      // Runs without a key never collide, and keys are per tenant.
      await seedRun(store, job);
      await seedRun(store, job);
      const otherJob = await seedJob(store);
      await seedRun(store, otherJob, { idempotencyKey: 'key-1' });
    });

    test('findRunByIdempotencyKey finds the run and its request hash, in its tenant only', async (store) => {
      const job = await seedJob(store);
      const run = makeRun(job, { idempotencyKey: 'key-1' });
      await store.insertRun({ run, requestHash: 'h1' });
      const unhashed = makeRun(job, { idempotencyKey: 'key-2' });
      await store.insertRun({ run: unhashed, requestHash: null });
      await seedRun(store, job);
      assert.deepEqual(await store.findRunByIdempotencyKey(job.tenantId, 'key-1'), {
        run,
        requestHash: 'h1',
      });
      assert.deepEqual(await store.findRunByIdempotencyKey(job.tenantId, 'key-2'), {
        run: unhashed,
        requestHash: null,
      });
      assert.equal(await store.findRunByIdempotencyKey(job.tenantId, 'key-3'), null);
      const other = await seedJob(store);
      assert.equal(await store.findRunByIdempotencyKey(other.tenantId, 'key-1'), null);
      // It follows the run as it changes.
      await store.claimRun(run.id, 1, 'wrk_a', tick());
      const found = await store.findRunByIdempotencyKey(job.tenantId, 'key-1');
      assert.equal(found?.run.status, 'running');
    });

    test('listRuns is newest first, filtered by job and status, and paged by cursor', async (store) => {
      const jobA = await seedJob(store);
      const jobB = makeJob(jobA.tenantId);
      await store.insertJob(jobB, NO_JOB_LIMIT);
      const a1 = await seedRun(store, jobA);
      const b1 = await seedRun(store, jobB);
      const a2 = await seedRun(store, jobA);
      const a3 = await seedRun(store, jobA, { status: 'succeeded', finishedAt: tick() });
      const ids = async (filter: Parameters<Store['listRuns']>[1]) =>
        (await store.listRuns(jobA.tenantId, filter)).items.map((run) => run.id);

      assert.deepEqual(await ids({ limit: 10 }), [a3.id, a2.id, b1.id, a1.id]);
      assert.deepEqual(await ids({ limit: 10, jobId: jobA.id }), [a3.id, a2.id, a1.id]);
      assert.deepEqual(await ids({ limit: 10, statuses: ['queued'] }), [a2.id, b1.id, a1.id]);
      assert.deepEqual(await ids({ limit: 10, jobId: jobA.id, statuses: ['queued'] }), [a2.id, a1.id]);

      const p1 = await store.listRuns(jobA.tenantId, { limit: 3 });
      assert.equal(p1.nextCursor, b1.id);
      const p2 = await store.listRuns(jobA.tenantId, { limit: 3, cursor: p1.nextCursor ?? undefined });
      assert.deepEqual(p2, { items: [a1], nextCursor: null });
      assert.equal((await store.listRuns(jobA.tenantId, { limit: 4 })).nextCursor, null);
    });

    test('listRuns by a job or schedule the tenant does not have is not_found, naming it', async (store) => {
      const job = await seedJob(store);
      const run = await seedRun(store, job);
      const schedule = await seedSchedule(store, job);
      const other = makeTenant();
      await store.createTenant(other);
      const notFoundIn = async (tenantId: string, filter: Parameters<Store['listRuns']>[1], field: string) =>
        assert.rejects(store.listRuns(tenantId, filter), (error: unknown) => {
          assert.ok(error instanceof HourglassError);
          assert.deepEqual([error.code, error.context.field], ['not_found', field]);
          return true;
        });
      await notFoundIn(other.id, { limit: 10, jobId: job.id }, 'jobId');
      await notFoundIn(other.id, { limit: 10, scheduleId: schedule.id }, 'scheduleId');
      await notFoundIn(job.tenantId, { limit: 10, jobId: 'job_00000000000000000000000000' }, 'jobId');
      await notFoundIn(
        job.tenantId,
        { limit: 10, scheduleId: 'sch_00000000000000000000000000' },
        'scheduleId',
      );
      // A deleted job's runs stay listed by its id.
      await store.deleteJob(job.tenantId, job.id, tick());
      const listed = await store.listRuns(job.tenantId, { limit: 10, jobId: job.id });
      assert.deepEqual(
        listed.items.map((r) => r.id),
        [run.id],
      );
    });

    test('listRuns unfiltered pages through runs of every status, newest first', async (store) => {
      const job = await seedJob(store);
      const runs = [await seedRun(store, job)];
      for (const outcome of [
        'succeeded',
        'failed',
        'timed_out',
        'oom_killed',
        'cancelled',
        'lost',
      ] as const) {
        const running = await seedRunning(store, job);
        assert.equal(await store.finishAttempt(attemptResult(running, { outcome })), 'finished');
        runs.push(running);
      }
      runs.push(await seedRunning(store, job), await seedRun(store, job));
      const newestFirst = runs.map((r) => r.id).reverse();
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listRuns(job.tenantId, { limit: 3, cursor });
        seen.push(...page.items.map((r) => r.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      assert.deepEqual(seen, newestFirst);
      const statuses = (await store.listRuns(job.tenantId, { limit: 20 })).items.map((r) => r.status);
      assert.equal(new Set(statuses).size, 8);
    });

    test('listQueuedRuns is every queued run by availability, then id', async (store) => {
      const job = await seedJob(store);
      const late = await seedRun(store, job, { availableAt: clock + 60_000 });
      const early = await seedRun(store, job, { availableAt: clock - 60_000 });
      await seedRunning(store, job);
      const otherJob = await seedJob(store);
      const other = await seedRun(store, otherJob, { availableAt: early.availableAt });
      const queued = (await store.listQueuedRuns()).map((run) => run.id);
      assert.deepEqual(queued, [early.id, other.id, late.id]);
    });

    test('markDispatched sets dispatchedAt once, with one event', async (store) => {
      const job = await seedJob(store);
      const run = await seedRun(store, job);
      const first = tick();
      await store.markDispatched([run.id], first);
      await store.markDispatched([run.id, id('run')], tick());
      await store.markDispatched([], tick());
      assert.equal((await mustGetRun(store, run)).dispatchedAt, first);
      assert.deepEqual(await eventTypes(store, run.id), ['created', 'dispatched']);
    });
  });

  describe(`Store contract (${factory.name}): attempts on workers`, () => {
    test('claimRun takes a queued run once, for its current attempt', async (store) => {
      const job = await seedJob(store);
      const run = await seedRun(store, job);
      assert.equal(await store.claimRun(run.id, 2, 'wrk_a', tick()), null);
      const at = tick();
      const claimed = await store.claimRun(run.id, 1, 'wrk_a', at);
      assert.deepEqual(claimed, {
        run: { ...run, status: 'running', workerId: 'wrk_a', heartbeatAt: at },
        job,
      });
      assert.equal(await store.claimRun(run.id, 1, 'wrk_b', tick()), null);
      assert.equal(await store.claimRun(id('run'), 1, 'wrk_b', tick()), null);
      const events = await store.getRunEvents(run.id);
      assert.deepEqual(events[1], { at, type: 'claimed', attempt: 1, status: 'running', detail: 'wrk_a' });
    });

    test('markStarted sets startedAt once, fenced by attempt and worker', async (store) => {
      const job = await seedJob(store);
      const run = await seedRunning(store, job, 'wrk_a');
      await store.markStarted(run.id, 1, 'wrk_b', tick());
      await store.markStarted(run.id, 2, 'wrk_a', tick());
      assert.equal((await mustGetRun(store, run)).startedAt, null);
      const startedAt = tick();
      await store.markStarted(run.id, 1, 'wrk_a', startedAt);
      assert.equal((await mustGetRun(store, run)).startedAt, startedAt);
      assert.deepEqual(await eventTypes(store, run.id), ['created', 'claimed', 'started']);
    });

    test('finishAttempt ends the run, fenced by attempt and worker', async (store) => {
      const job = await seedJob(store);
      const run = await seedRunning(store, job, 'wrk_a');
      const failed = { outcome: 'failed', exitCode: 3, reason: 'exit code 3' } as const;
      assert.equal(await store.finishAttempt(attemptResult(run, { ...failed, workerId: 'wrk_b' })), 'fenced');
      assert.equal(await store.finishAttempt(attemptResult(run, { ...failed, attempt: 2 })), 'fenced');
      assert.deepEqual(
        await eventTypes(store, run.id),
        ['created', 'claimed'],
        'a fenced write leaves no trace',
      );
      const result = attemptResult(run, failed);
      assert.equal(await store.finishAttempt(result), 'finished');
      assert.deepEqual(await mustGetRun(store, run), {
        ...run,
        status: 'failed',
        exitCode: 3,
        reason: 'exit code 3',
        finishedAt: result.at,
      });
      assert.equal(await store.finishAttempt(attemptResult(run)), 'fenced', 'a finished run stays finished');
      const events = await store.getRunEvents(run.id);
      assert.deepEqual(events.at(-1), {
        at: result.at,
        type: 'finished',
        attempt: 1,
        status: 'failed',
        detail: 'exit code 3',
      });
    });

    test('a retry requeues the run as the next attempt, and fences off the old one', async (store) => {
      const job = await seedJob(store);
      const run = await seedRunning(store, job, 'wrk_a');
      await store.markStarted(run.id, 1, 'wrk_a', tick());
      const firstStart = (await mustGetRun(store, run)).startedAt;
      const retryAt = clock + 5000;
      const result = attemptResult(run, { outcome: 'timed_out', exitCode: null, reason: 'timeout', retryAt });
      assert.equal(await store.finishAttempt(result), 'requeued');
      const requeued = await mustGetRun(store, run);
      assert.deepEqual(requeued, {
        ...run,
        status: 'queued',
        attempt: 2,
        availableAt: retryAt,
        workerId: null,
        heartbeatAt: null,
        exitCode: null,
        reason: 'timeout',
        startedAt: firstStart,
      });
      const retryEvent = (await store.getRunEvents(run.id)).at(-1);
      assert.equal(retryEvent?.type, 'retry_scheduled');
      assert.match(retryEvent?.detail ?? '', /timeout/);
      assert.deepEqual(
        (await store.listQueuedRuns()).map((r) => r.id),
        [run.id],
      );

      assert.equal(await store.finishAttempt(result), 'fenced', 'attempt 1 is over');
      assert.equal(await store.claimRun(run.id, 1, 'wrk_a', tick()), null);
      const claimed = await store.claimRun(run.id, 2, 'wrk_b', tick());
      assert.equal(claimed?.run.attempt, 2);
      await store.markStarted(run.id, 2, 'wrk_b', tick());
      assert.equal(
        (await mustGetRun(store, run)).startedAt,
        firstStart,
        'lag is measured from the first start',
      );
      assert.equal(
        await store.finishAttempt(attemptResult(requeued, { attempt: 2, workerId: 'wrk_b' })),
        'finished',
      );
      assert.equal((await mustGetRun(store, run)).status, 'succeeded');
    });

    test('heartbeat refreshes the worker’s running attempts and reports cancellations', async (store) => {
      const job = await seedJob(store);
      const mine = await seedRunning(store, job, 'wrk_a');
      const cancelled = await seedRunning(store, job, 'wrk_a');
      const at = tick();
      await store.requestCancel(job.tenantId, cancelled.id, tick());
      const answer = await store.heartbeat('wrk_a', [held(mine), held(cancelled)], at);
      assert.deepEqual(answer, { cancel: [cancelled.id], fenced: [] });
      assert.equal((await mustGetRun(store, mine)).heartbeatAt, at);
      assert.equal((await mustGetRun(store, cancelled)).heartbeatAt, at, 'still its own until it stops');
      assert.deepEqual(await store.heartbeat('wrk_a', [], tick()), { cancel: [], fenced: [] });
    });

    test('heartbeat reports as fenced every attempt that is no longer the worker’s', async (store) => {
      const job = await seedJob(store, { retry: { maxAttempts: 3, backoffSeconds: 1 } });
      const mine = await seedRunning(store, job, 'wrk_a');
      const theirs = await seedRunning(store, job, 'wrk_b');
      const finished = await seedRunning(store, job, 'wrk_a');
      await store.finishAttempt(attemptResult(finished));
      // Reaped as lost and retried: attempt 2 is queued, then claimed by another worker.
      const reaped = await seedRunning(store, job, 'wrk_a');
      await store.finishAttempt(attemptResult(reaped, { outcome: 'lost', retryAt: tick() }));
      const retried = await seedRunning(store, job, 'wrk_a');
      await store.finishAttempt(attemptResult(retried, { outcome: 'failed', retryAt: tick() }));
      assert.ok(await store.claimRun(retried.id, 2, 'wrk_b', tick()));
      const released = await seedRunning(store, job, 'wrk_a');
      await store.releaseRun(released.id, 1, 'wrk_a', tick(), 'worker stopped');
      const unknown = id('run');

      const at = tick();
      const answer = await store.heartbeat(
        'wrk_a',
        [mine, theirs, finished, reaped, retried, released].map(held).concat({ runId: unknown, attempt: 1 }),
        at,
      );
      assert.deepEqual(answer.cancel, []);
      assert.deepEqual(
        [...answer.fenced].sort(),
        [theirs.id, finished.id, reaped.id, retried.id, released.id, unknown].sort(),
      );
      assert.equal((await mustGetRun(store, mine)).heartbeatAt, at);
      assert.notEqual(
        (await mustGetRun(store, theirs)).heartbeatAt,
        at,
        'another worker’s run is not beaten',
      );
      const other = await mustGetRun(store, retried);
      assert.deepEqual([other.status, other.workerId], ['running', 'wrk_b']);
      assert.notEqual(other.heartbeatAt, at);
    });

    test('heartbeat fences a stale attempt even when the same worker holds the next one', async (store) => {
      const job = await seedJob(store, { retry: { maxAttempts: 3, backoffSeconds: 1 } });
      const run = await seedRunning(store, job, 'wrk_a');
      await store.finishAttempt(attemptResult(run, { outcome: 'lost', retryAt: tick() }));
      assert.ok(await store.claimRun(run.id, 2, 'wrk_a', tick()));
      const at = tick();
      assert.deepEqual(await store.heartbeat('wrk_a', [{ runId: run.id, attempt: 1 }], at), {
        cancel: [],
        fenced: [run.id],
      });
      assert.notEqual((await mustGetRun(store, run)).heartbeatAt, at);
      assert.deepEqual(await store.heartbeat('wrk_a', [{ runId: run.id, attempt: 2 }], at), {
        cancel: [],
        fenced: [],
      });
      assert.equal((await mustGetRun(store, run)).heartbeatAt, at);
    });

    test('releaseRun queues the run again with the same attempt, fenced by attempt and worker', async (store) => {
      const job = await seedJob(store);
      const run = await seedRunning(store, job, 'wrk_a');
      const startedAt = tick();
      await store.markStarted(run.id, 1, 'wrk_a', startedAt);
      assert.equal(await store.releaseRun(run.id, 1, 'wrk_b', tick(), 'worker stopped'), false);
      assert.equal(await store.releaseRun(run.id, 2, 'wrk_a', tick(), 'worker stopped'), false);
      const at = tick();
      assert.equal(await store.releaseRun(run.id, 1, 'wrk_a', at, 'worker stopped'), true);
      assert.deepEqual(await mustGetRun(store, run), {
        ...run,
        status: 'queued',
        attempt: 1,
        availableAt: at,
        workerId: null,
        heartbeatAt: null,
        startedAt,
      });
      assert.deepEqual((await store.getRunEvents(run.id)).at(-1), {
        at,
        type: 'released',
        attempt: 1,
        status: 'queued',
        detail: 'worker stopped',
      });
      assert.deepEqual(
        (await store.listQueuedRuns()).map((r) => r.id),
        [run.id],
      );
      // Released, the attempt is no longer the worker's: its results are fenced off, and it can be claimed.
      assert.equal(await store.releaseRun(run.id, 1, 'wrk_a', tick(), 'again'), false);
      assert.equal(await store.finishAttempt(attemptResult(run)), 'fenced');
      const claimed = await store.claimRun(run.id, 1, 'wrk_b', tick());
      assert.equal(claimed?.run.attempt, 1);
      assert.equal(claimed?.run.workerId, 'wrk_b');
      assert.deepEqual(await eventTypes(store, run.id), [
        'created',
        'claimed',
        'started',
        'released',
        'claimed',
      ]);
    });

    test('releaseRun leaves a finished or queued run alone', async (store) => {
      const job = await seedJob(store);
      const queued = await seedRun(store, job);
      assert.equal(await store.releaseRun(queued.id, 1, 'wrk_a', tick(), 'worker stopped'), false);
      const done = await seedRunning(store, job, 'wrk_a');
      await store.finishAttempt(attemptResult(done));
      assert.equal(await store.releaseRun(done.id, 1, 'wrk_a', tick(), 'worker stopped'), false);
      assert.equal((await mustGetRun(store, done)).status, 'succeeded');
      assert.equal(await store.releaseRun(id('run'), 1, 'wrk_a', tick(), 'worker stopped'), false);
    });

    test('listStaleRuns finds running runs whose heartbeat is older than the cutoff', async (store) => {
      const job = await seedJob(store);
      const old = await seedRunning(store, job);
      const older = await seedRunning(store, job);
      const cutoff = tick();
      const fresh = await seedRunning(store, job);
      await store.heartbeat('wrk_a', [held(old)], clock - 500_000);
      await seedRun(store, job, { heartbeatAt: 1 }); // queued, never stale
      assert.deepEqual(
        (await store.listStaleRuns(cutoff, 10)).map((r) => r.id),
        [old.id, older.id],
      );
      assert.equal((await store.listStaleRuns(cutoff, 1)).length, 1);
      assert.ok(!(await store.listStaleRuns(cutoff, 10)).some((r) => r.id === fresh.id));
    });
  });

  describe(`Store contract (${factory.name}): cancellation and job deletion`, () => {
    test('cancelling a queued run ends it at once', async (store) => {
      const job = await seedJob(store);
      const run = await seedRun(store, job);
      const at = tick();
      const result = await store.requestCancel(job.tenantId, run.id, at);
      const cancelled = {
        ...run,
        status: 'cancelled',
        finishedAt: at,
        reason: 'cancelled by request',
      } as const;
      assert.deepEqual(result, { state: 'cancelled', run: cancelled });
      assert.equal(await store.claimRun(run.id, 1, 'wrk_a', tick()), null);
      assert.deepEqual(await eventTypes(store, run.id), ['created', 'finished']);
    });

    test('cancelling a running run asks its worker, once', async (store) => {
      const job = await seedJob(store);
      const run = await seedRunning(store, job);
      const at = tick();
      const result = await store.requestCancel(job.tenantId, run.id, at);
      assert.deepEqual(result, { state: 'requested', run: { ...run, cancelRequestedAt: at } });
      const again = await store.requestCancel(job.tenantId, run.id, tick());
      assert.equal(again.state, 'requested');
      assert.equal(again.run.cancelRequestedAt, at);
      assert.deepEqual(await eventTypes(store, run.id), ['created', 'claimed', 'cancel_requested']);
    });

    test('a run whose cancellation was requested is not retried', async (store) => {
      const job = await seedJob(store);
      const run = await seedRunning(store, job);
      await store.requestCancel(job.tenantId, run.id, tick());
      const result = attemptResult(run, { outcome: 'failed', exitCode: 1, retryAt: clock + 1000 });
      assert.equal(await store.finishAttempt(result), 'finished', 'finished as cancelled, not requeued');
      const after = await mustGetRun(store, run);
      assert.equal(after.status, 'cancelled');
      assert.equal(after.reason, 'cancelled by request');
      assert.equal(after.attempt, 1);
      assert.equal(after.finishedAt, result.at);
    });

    test('cancelling a finished run changes nothing; an unknown run is not found', async (store) => {
      const job = await seedJob(store);
      const run = await seedRunning(store, job);
      await store.finishAttempt(attemptResult(run));
      const finished = await mustGetRun(store, run);
      assert.deepEqual(await store.requestCancel(job.tenantId, run.id, tick()), {
        state: 'already_finished',
        run: finished,
      });
      const notFound = (error: unknown) => error instanceof HourglassError && error.code === 'not_found';
      await assert.rejects(store.requestCancel(job.tenantId, id('run'), tick()), notFound);
      const other = makeTenant();
      await store.createTenant(other);
      await assert.rejects(store.requestCancel(other.id, run.id, tick()), notFound);
    });

    test('deleting a job cancels its queued runs and asks running ones to stop', async (store) => {
      const job = await seedJob(store);
      const queued = await seedRun(store, job);
      const running = await seedRunning(store, job);
      const done = await seedRunning(store, job);
      await store.finishAttempt(attemptResult(done));
      const otherJob = makeJob(job.tenantId);
      await store.insertJob(otherJob, NO_JOB_LIMIT);
      const unrelated = await seedRun(store, otherJob);

      const at = tick();
      assert.deepEqual(await store.deleteJob(job.tenantId, job.id, at), {
        cancelled: [queued.id],
        stopping: [running.id],
        schedules: [],
      });
      const q = await mustGetRun(store, queued);
      assert.deepEqual([q.status, q.reason, q.finishedAt], ['cancelled', 'job deleted', at]);
      const r = await mustGetRun(store, running);
      assert.deepEqual([r.status, r.cancelRequestedAt], ['running', at]);
      assert.equal((await mustGetRun(store, done)).status, 'succeeded');
      assert.equal((await mustGetRun(store, unrelated)).status, 'queued');
      assert.deepEqual(await store.heartbeat('wrk_a', [{ runId: running.id, attempt: 1 }], tick()), {
        cancel: [running.id],
        fenced: [],
      });
      // The runs stay readable after their job is gone.
      const listed = await store.listRuns(job.tenantId, { limit: 10, jobId: job.id });
      assert.equal(listed.items.length, 3);
    });
  });

  describe(`Store contract (${factory.name}): durability`, () => {
    it('data survives a close and reopen, and migrations run only once', async () => {
      const location = await factory.createLocation();
      try {
        const first = await location.open();
        assert.ok(first.migrationsApplied > 0, 'a new database is migrated');
        const job = await seedJob(first.store);
        const run = await seedRun(first.store, job);
        await first.store.setMeta('instance', 'abc');
        await first.store.close();

        const second = await location.open();
        try {
          assert.equal(second.migrationsApplied, 0, 'a current schema is not migrated again');
          assert.equal(await second.store.getMeta('instance'), 'abc');
          assert.deepEqual(await second.store.findJob(job.tenantId, job.id), job);
          assert.deepEqual(await second.store.getRun(job.tenantId, run.id), run);
        } finally {
          await second.store.close();
        }
      } finally {
        await location.destroy();
      }
    });
  });
}
