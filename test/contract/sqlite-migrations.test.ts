// The SQLite store's migrations 3 and 4 on a database written before them (schema version 2): runs and their
// stored timelines read exactly as they did, the queue rebuild and the listings find them through the new
// indexes, a run fired before stays visible to the overlap policies, a schedule keeps its own watermark until a
// frontier passes it, and a tick fired after the migration gets its implied timeline. SQLite only: it is about
// that file format.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/adapters/sqlite/sqlite-migrations.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { jobToRow, tenantToRow } from '../../src/adapters/sqlite/sqlite-rows.js';
import { scheduleToRow } from '../../src/adapters/sqlite/sqlite-schedule-rows.js';
import type { Job } from '../../src/core/job.js';
import type { RunEvent } from '../../src/core/run.js';
import { scheduledRunId, type Schedule } from '../../src/core/schedule.js';
import type { Tenant } from '../../src/core/tenant.js';
import { leaseAll, makeSchedule, tickOf } from './schedule-fixtures.js';
import { id, makeJob, makeTenant, tick } from './store-fixtures.js';

/** Named parameters for every key of a row object: `(@a, @b, …)`. */
const valuesOf = (row: object): string =>
  `(${Object.keys(row)
    .map((k) => `@${k}`)
    .join(', ')})`;
const columnsOf = (row: object): string => `(${Object.keys(row).join(', ')})`;

/** Inserts a row object, its keys as the columns. */
const insertRow = (db: Database.Database, table: string, row: object): void => {
  db.prepare(`INSERT INTO ${table} ${columnsOf(row)} VALUES ${valuesOf(row)}`).run(row);
};

/** Applies the migrations up to `version` to an empty database, as a Hourglass of that version left it. */
function migrateTo(db: Database.Database, version: number): void {
  db.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
    applied_at INTEGER NOT NULL)`);
  for (const migration of MIGRATIONS.filter((m) => m.version <= version)) {
    db.exec(migration.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(migration.version, migration.name, 0);
  }
}

/** A database at schema version 2, as Hourglass before migration 3 left it, with a tick's run fired by it. */
function createVersion2(
  path: string,
  rows: { tenant: Tenant; job: Job; schedule: Schedule; run: V2Run },
): void {
  const db = new Database(path);
  try {
    migrateTo(db, 2);
    insertRow(db, 'tenants', tenantToRow(rows.tenant));
    // Version 2 had no memory request (migration 7).
    const { memory_request_mb: _request, network: _network, ...jobRow } = jobToRow(rows.job);
    insertRow(db, 'jobs', jobRow);
    insertRow(db, 'schedules', { ...scheduleToRow(rows.schedule), change_seq: 1 });
    const { events, ...run } = rows.run;
    insertRow(db, 'runs', run);
    for (const [seq, event] of events.entries())
      insertRow(db, 'run_events', { run_id: run.id, seq: seq + 1, ...event });
  } finally {
    db.close();
  }
}

type V2Run = {
  id: string;
  tenant_id: string;
  job_id: string;
  schedule_id: string;
  status: 'queued';
  attempt: number;
  created_at: number;
  nominal_time: number;
  due_at: number;
  available_at: number;
  dispatched_at: number;
  events: RunEvent[];
};

describe('SQLite store: migrations 3 and later on a version 2 database', () => {
  it('keeps runs and their stored timelines, and fires with implied ones afterwards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hourglass-migration-'));
    const path = join(dir, 'hourglass.db');
    try {
      const tenant = makeTenant();
      const job = makeJob(tenant.id);
      const schedule = makeSchedule(job);
      const nominal = Date.UTC(2026, 0, 1);
      const at = tick();
      const timeline: RunEvent[] = [
        {
          at,
          type: 'created',
          attempt: 1,
          status: 'queued',
          detail: `tick 2026-01-01T00:00:00.000Z of schedule ${schedule.id}`,
        },
        { at, type: 'dispatched', attempt: 1, status: 'queued', detail: null },
      ];
      const oldRunId = scheduledRunId(schedule.id, nominal);
      createVersion2(path, {
        tenant,
        job,
        schedule,
        run: {
          id: oldRunId,
          tenant_id: tenant.id,
          job_id: job.id,
          schedule_id: schedule.id,
          status: 'queued',
          attempt: 1,
          created_at: at,
          nominal_time: nominal,
          due_at: nominal,
          available_at: nominal,
          dispatched_at: at,
          events: timeline,
        },
      });

      const store = SqliteStore.open(path);
      try {
        // Every later one, whatever it is about (6: API keys' last use, 7: jobs' memory requests).
        assert.deepEqual(
          store.migrationsApplied,
          MIGRATIONS.filter((m) => m.version > 2).map((m) => m.version),
        );
        // A job written before requests existed has none: its runs reserve the default share of its limit.
        assert.deepEqual((await store.findJob(tenant.id, job.id))?.resources, {
          memoryMb: job.resources.memoryMb,
        });
        assert.equal((await store.getScheduleTiming(schedule.id))?.nextFireAt, schedule.nextFireAt);
        assert.deepEqual(await store.getRunEvents(oldRunId), timeline, 'stored events, not doubled');
        assert.deepEqual(
          (await store.listQueuedRuns()).map((r) => r.id),
          [oldRunId],
        );
        const byJob = await store.listRuns(tenant.id, { limit: 10, jobId: job.id });
        const bySchedule = await store.listRuns(tenant.id, { limit: 10, scheduleId: schedule.id });
        assert.deepEqual(
          [byJob.items.map((r) => r.id), bySchedule.items.map((r) => r.id)],
          [[oldRunId], [oldRunId]],
        );

        // The same tick again is still a duplicate; the next one is fired with its implied timeline.
        const lease = await leaseAll(store, 'node-a');
        const next = tickOf(schedule, nominal + 5000);
        const through = { firedThrough: nominal + 5000, changeSeq: 1 };
        const fires = [tickOf(schedule, nominal), next];
        const result = await store.fireTicks('node-a', [lease], fires, tick(), through);
        assert.deepEqual([result.duplicates, result.queued.map((m) => m.runId)], [[oldRunId], [next.runId]]);
        assert.equal((await store.getScheduleTiming(schedule.id))?.nextFireAt, nominal + 10_000);
        assert.deepEqual(
          (await store.getRunEvents(next.runId)).map((e) => e.type),
          ['created', 'dispatched'],
        );
        assert.deepEqual(await store.getRunEvents(id('run')), [], 'an unknown run has no events');
      } finally {
        await store.close();
      }

      const check = new Database(path, { readonly: true });
      try {
        const indexes = check
          .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'runs'")
          .pluck()
          .all();
        for (const gone of ['runs_queued', 'runs_tenant_job', 'runs_tenant_schedule', 'runs_schedule']) {
          assert.ok(!indexes.includes(gone), gone);
        }
        for (const made of ['runs_job', 'runs_schedule_unfinished', 'runs_tenant_status']) {
          assert.ok(indexes.includes(made), made);
        }
        const firing = check
          .prepare<[], string>(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'schedules'",
          )
          .pluck()
          .all();
        assert.ok(firing.includes('schedules_fire'), 'schedules_fire');
        // The run fired before migration 4 is still an unfinished run to the overlap policies; the one fired
        // in bulk after it is not.
        const unfinished = check
          .prepare<[string], string>(
            `SELECT id FROM runs INDEXED BY runs_schedule_unfinished
            WHERE schedule_id = ? AND status IN ('queued', 'running') AND fired_late IS NULL`,
          )
          .pluck()
          .all(schedule.id);
        assert.deepEqual(unfinished, [oldRunId]);
      } finally {
        check.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQLite store: migration 6 on a version 5 database', () => {
  it('reads keys stored before it as never used, and records their use from then on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hourglass-migrate-6-'));
    const path = join(dir, 'hourglass.db');
    const tenant = makeTenant();
    const keyId = id('apiKey');
    const db = new Database(path);
    try {
      migrateTo(db, 5);
      insertRow(db, 'tenants', tenantToRow(tenant));
      db.prepare(
        `INSERT INTO api_keys (id, tenant_id, scope, prefix, secret_hash, name, created_at, revoked_at)
         VALUES (?, ?, 'tenant', 'hg_abcdef', ?, 'old', 5, NULL)`,
      ).run(keyId, tenant.id, 'f'.repeat(64));
    } finally {
      db.close();
    }
    const store = SqliteStore.open(path);
    try {
      assert.ok(store.migrationsApplied.includes(6));
      const [key] = await store.listApiKeys(tenant.id);
      assert.equal(key?.id, keyId);
      assert.equal(key?.lastUsedAt, null);
      await store.recordApiKeyUse(keyId, 120_000, 60_000);
      assert.equal((await store.findApiKeyByHash('f'.repeat(64)))?.lastUsedAt, 120_000);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('migration 8: runs written before it read imageDigest null, and registry logins can be kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hourglass-migrate-8-'));
    const path = join(dir, 'hourglass.db');
    const tenant = makeTenant();
    const job = makeJob(tenant.id);
    const runId = id('run');
    const db = new Database(path);
    try {
      migrateTo(db, 7);
      insertRow(db, 'tenants', tenantToRow(tenant));
      const { network: _network, ...jobRow } = jobToRow(job); // before migration 9
      insertRow(db, 'jobs', jobRow);
      db.prepare(
        `INSERT INTO runs (id, tenant_id, job_id, status, attempt, created_at, nominal_time, available_at)
         VALUES (?, ?, ?, 'succeeded', 1, 5, 5, 5)`,
      ).run(runId, tenant.id, job.id);
    } finally {
      db.close();
    }
    const store = SqliteStore.open(path);
    try {
      assert.deepEqual(
        store.migrationsApplied,
        MIGRATIONS.filter((m) => m.version > 7).map((m) => m.version),
      );
      assert.equal((await store.getRun(tenant.id, runId))?.imageDigest, null);
      // Migration 9: a job written before it has network none (absent on the domain object).
      assert.equal((await store.findJob(tenant.id, job.id))?.network, undefined);
      const login = {
        tenantId: tenant.id,
        host: 'ghcr.io',
        username: 'u',
        ciphertext: Buffer.from([1, 2, 3]),
        nonce: Buffer.alloc(12),
        keyId: 'a'.repeat(16),
        createdAt: 1,
        updatedAt: 1,
      };
      assert.equal(await store.putRegistryCredential(login, 50), true);
      assert.deepEqual(await store.getRegistryCredential(tenant.id, 'ghcr.io'), login);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQLite store: migration 12 on a version 11 database', () => {
  it('a schedule paused before it is paused since its last change; one not paused has no pause', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hourglass-migrate-12-'));
    const path = join(dir, 'hourglass.db');
    const tenant = makeTenant();
    const job = makeJob(tenant.id);
    const paused = makeSchedule(job, { paused: true, updatedAt: 7_000 });
    const live = makeSchedule(job);
    const db = new Database(path);
    try {
      migrateTo(db, 11);
      insertRow(db, 'tenants', tenantToRow(tenant));
      insertRow(db, 'jobs', jobToRow(job));
      insertRow(db, 'schedules', { ...scheduleToRow(paused), change_seq: 1 });
      insertRow(db, 'schedules', { ...scheduleToRow(live), change_seq: 2 });
    } finally {
      db.close();
    }
    const store = SqliteStore.open(path);
    try {
      // 12 and every later one (other migrations may come after it).
      assert.deepEqual(
        store.migrationsApplied,
        MIGRATIONS.map((m) => m.version).filter((v) => v >= 12),
      );
      const all = [0, Number.MAX_SAFE_INTEGER] as const;
      assert.deepEqual(await store.listSchedulePauses(tenant.id, paused.id, ...all), [
        { pausedAt: 7_000, resumedAt: null },
      ]);
      assert.deepEqual(await store.listSchedulePauses(tenant.id, live.id, ...all), []);
      assert.deepEqual(
        await store.listSchedulePauses(makeTenant().id, paused.id, ...all),
        [],
        'tenant-scoped',
      );
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
