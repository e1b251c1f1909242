// The Store port on SQLite, for embedded mode and tests. This module owns the connection: it opens the
// file, sets the PRAGMAs, applies pending migrations, compiles every statement once, and closes it. The
// statements themselves live with their tables (sqlite-job-queries.ts, sqlite-run-queries.ts,
// sqlite-schedule-queries.ts, sqlite-lease-queries.ts, sqlite-fire-queries.ts, sqlite-overlap-queries.ts);
// meta, tenants and API keys are small enough to stay here; registry logins are in
// sqlite-registry-queries.ts, rate limits in sqlite-rate-limit-queries.ts. The class follows the port's
// concerns (src/ports/store/), one section each.
//
// Concurrency (docs/architecture.md, "The Store's concurrency contract"): every write is one transaction,
// IMMEDIATE wherever it reads before it writes, so writers in every process on the file run one at a time
// (busy_timeout waits for the lock) and each reads what the last one committed. The MAX + 1 sequences, the
// count-then-insert plan limits and the lease plans rely on that.
//
// Durability: every write a client is answered about (run creation, cancel, jobs, schedules, keys), every
// attempt result, every release and every fired tick commits with synchronous=FULL (fsync of the WAL). The
// worker's bookkeeping between them (dispatched, claimed, started, heartbeats, releasing blocked runs) and
// rate-limit takes commit with synchronous=NORMAL: they survive a process crash, and the next FULL commit
// makes them durable too, since syncing the WAL syncs every frame before it. What an OS crash can undo is
// only that bookkeeping: a run may go back to queued and run again, which at-least-once allows, and a tenant
// may get its last few rate-limit tokens back.
//
// better-sqlite3 is synchronous; the port is async so that networked stores (PostgreSQL) fit the same
// interface. Methods are `async` so a driver error becomes a rejected promise, never a synchronous throw.

import Database from 'better-sqlite3';
import { HourglassError } from '../../core/errors.js';
import type { Job } from '../../core/job.js';
import type { Run, RunEvent } from '../../core/run.js';
import type { ApiKey, Tenant } from '../../core/tenant.js';
import type { RegistryCredentialInfo, SealedRegistryCredential } from '../../core/registry-credential.js';
import type {
  AttemptResult,
  CancelResult,
  ClaimedRun,
  DeletedJob,
  DispatchQuery,
  FinishResult,
  HeartbeatAnswer,
  HeldAttempt,
  InsertRunResult,
  NewRun,
  Page,
  PartitionLease,
  FiredThrough,
  QueuedLoadGroup,
  RateLimit,
  FireResult,
  LeaseRound,
  RunFilter,
  ScheduleFilter,
  ScheduleLoadGroup,
  ScheduleTiming,
  Store,
  ClaimedDelivery,
  DeliveryRecord,
  TickFire,
  WatermarkMark,
} from '../../ports/store.js';
import type { QueueMessage } from '../../ports/queue.js';
import type { RateDecision } from '../../core/rate-limit.js';
import type { RolledCounts, RolledCountsQuery, RunStatsRollup } from '../../core/run-stats-rollup.js';
import type { RunStatsCounts, RunStatsQuery } from '../../core/run-stats.js';
import type { Schedule } from '../../core/schedule.js';
import type { Webhook, WebhookDelivery } from '../../core/webhook.js';
import type { PauseInterval, TickRun } from '../../core/tick-explanation.js';
import { compileJobQueries, type JobQueries } from './sqlite-job-queries.js';
import { applyMigrations } from './sqlite-migrations.js';
import {
  apiKeyToRow,
  rowToApiKey,
  rowToTenant,
  tenantToRow,
  type ApiKeyRow,
  type TenantRow,
} from './sqlite-rows.js';
import { compileFireQueries, type FireQueries } from './sqlite-fire-queries.js';
import { compileFrontierQueries } from './sqlite-frontier-queries.js';
import { compileLeaseQueries, type LeaseQueries } from './sqlite-lease-queries.js';
import { compileOverlapQueries, type OverlapQueries } from './sqlite-overlap-queries.js';
import { compileRateLimitQueries, type RateLimitQueries } from './sqlite-rate-limit-queries.js';
import { compileStatsQueries, type StatsQueries } from './sqlite-stats-queries.js';
import { compileRegistryQueries, type RegistryQueries } from './sqlite-registry-queries.js';
import { compileRunQueries, type RunQueries } from './sqlite-run-queries.js';
import { compileWebhookQueries, type WebhookQueries } from './sqlite-webhook-queries.js';
import {
  compileScheduleHistoryQueries,
  type ScheduleHistoryQueries,
} from './sqlite-schedule-history-queries.js';
import { compileScheduleQueries, type ScheduleQueries } from './sqlite-schedule-queries.js';
import { compileLoadForecastCounts } from './sqlite-load-forecast-counts.js';
import { compileLoadForecastQueries, type LoadForecastQueries } from './sqlite-load-forecast-queries.js';

const API_KEY_COLUMNS =
  'id, tenant_id, scope, prefix, secret_hash, name, created_at, revoked_at, last_used_at';

function configure(db: Database.Database): void {
  // For a new file only (an existing one keeps its size): 8 KiB pages make the B-trees a fired batch inserts
  // into shallower, and its commit write fewer pages (about 10% less CPU per fired tick than 4 KiB). It must
  // come before WAL is turned on.
  db.pragma('page_size = 8192');
  // WAL lets readers (API) proceed while a writer (dispatcher, workers) commits.
  db.pragma('journal_mode = WAL');
  // FULL: a write acknowledged to a client must survive a power loss, not only a process crash.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Several processes may share the file; wait for a lock rather than fail at once.
  db.pragma('busy_timeout = 5000');
  // A fired batch of thousands of runs dirties thousands of index pages (run ids are random within their
  // second): a 64 MiB cache (the default is 2 MiB) keeps them from spilling to the WAL before the commit.
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  // Checkpoint every 8192 pages of WAL (64 MiB) instead of every 1000: a page that successive batches dirty
  // again is copied into the database once per checkpoint, and a fired batch (often over 1000 pages alone)
  // does not pay for a checkpoint at each commit. The WAL file is cut back to 64 MiB after a checkpoint.
  db.pragma('wal_autocheckpoint = 8192');
  db.pragma('journal_size_limit = 67108864');
}

function compileTenantQueries(db: Database.Database) {
  return {
    getMeta: db.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck(),
    setMeta: db.prepare<[string, string]>(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    insertTenant: db.prepare<[TenantRow]>(
      'INSERT INTO tenants (id, name, limits_json, created_at) VALUES (@id, @name, @limits_json, @created_at)',
    ),
    tenantById: db.prepare<[string], TenantRow>(
      'SELECT id, name, limits_json, created_at FROM tenants WHERE id = ?',
    ),
    allTenants: db.prepare<[], TenantRow>(
      'SELECT id, name, limits_json, created_at FROM tenants ORDER BY id',
    ),
    updateTenantLimits: db.prepare<[string, string], TenantRow>(
      'UPDATE tenants SET limits_json = ? WHERE id = ? RETURNING id, name, limits_json, created_at',
    ),
    insertApiKey: db.prepare<[ApiKeyRow]>(`INSERT INTO api_keys (${API_KEY_COLUMNS})
      VALUES (@id, @tenant_id, @scope, @prefix, @secret_hash, @name, @created_at, @revoked_at, @last_used_at)`),
    apiKeyByHash: db.prepare<[string], ApiKeyRow>(
      `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE secret_hash = ?`,
    ),
    apiKeyById: db.prepare<[string], ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = ?`),
    allApiKeys: db.prepare<[], ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys ORDER BY id`),
    tenantApiKeys: db.prepare<[string], ApiKeyRow>(
      `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE tenant_id = ? ORDER BY id`,
    ),
    recordApiKeyUse: db.prepare<[number, string, number]>(
      'UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)',
    ),
    revokeApiKey: db.prepare<[number, string]>(
      'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
    ),
    revokeOtherAdminKeys: db.prepare<[number, string]>(
      "UPDATE api_keys SET revoked_at = ? WHERE scope = 'admin' AND id <> ? AND revoked_at IS NULL",
    ),
  };
}

export class SqliteStore implements Store {
  private readonly tenants: ReturnType<typeof compileTenantQueries>;
  private readonly jobs: JobQueries;
  private readonly runs: RunQueries;
  private readonly schedules: ScheduleQueries;
  private readonly history: ScheduleHistoryQueries;
  private readonly leases: LeaseQueries;
  private readonly overlap: OverlapQueries;
  private readonly fires: FireQueries;
  private readonly registries: RegistryQueries;
  private readonly rateLimits: RateLimitQueries;
  private readonly forecast: LoadForecastQueries;
  private readonly stats: StatsQueries;
  private readonly webhooks: WebhookQueries;
  private readonly syncNormal: Database.Statement;
  private readonly syncFull: Database.Statement;
  private readonly deleteJobAndStopRuns: (tenantId: string, jobId: string, at: number) => DeletedJob;
  private readonly insertJobWithinLimit: (job: Job, maxJobs: number) => void;
  private readonly updateJobAndCounts: (job: Job) => void;

  private constructor(
    private readonly db: Database.Database,
    /** Migration versions applied by this open (empty when the schema was already current). */
    readonly migrationsApplied: readonly number[],
  ) {
    this.tenants = compileTenantQueries(db);
    this.jobs = compileJobQueries(db);
    this.runs = compileRunQueries(db, this.jobs);
    const frontiers = compileFrontierQueries(db);
    this.history = compileScheduleHistoryQueries(db);
    const counts = compileLoadForecastCounts(db);
    this.schedules = compileScheduleQueries(db, frontiers, this.jobs, this.history, counts);
    this.leases = compileLeaseQueries(db);
    this.overlap = compileOverlapQueries(db, this.runs);
    this.fires = compileFireQueries(db, this.leases, this.overlap, frontiers);
    this.registries = compileRegistryQueries(db);
    this.rateLimits = compileRateLimitQueries(db);
    this.forecast = compileLoadForecastQueries(db, counts);
    this.stats = compileStatsQueries(db);
    this.webhooks = compileWebhookQueries(db);
    // Prepared once: db.pragma() would compile the statement on every call.
    this.syncNormal = db.prepare('PRAGMA synchronous = NORMAL');
    this.syncFull = db.prepare('PRAGMA synchronous = FULL');
    const deleteJob = db.transaction((tenantId: string, jobId: string, at: number) => {
      this.jobs.softDeleteJob(tenantId, jobId, at);
      const schedules = this.schedules.deleteSchedulesOfJob(tenantId, jobId, at);
      return { ...this.runs.cancelRunsOfJob(tenantId, jobId, at), schedules };
    });
    this.deleteJobAndStopRuns = (tenantId, jobId, at) => deleteJob.immediate(tenantId, jobId, at);
    const insertJobWithinLimit = db.transaction((job: Job, maxJobs: number) => {
      if (this.jobs.countJobs(job.tenantId) >= maxJobs) {
        throw new HourglassError('plan_limit_exceeded', `the plan allows at most ${maxJobs} jobs`, {
          limit: 'maxJobs',
        });
      }
      this.jobs.insertJob(job);
    });
    this.insertJobWithinLimit = (job, maxJobs) => insertJobWithinLimit.immediate(job, maxJobs);
    // A change of the job's memory request changes what its schedules add to the forecast's counts.
    const updateJob = db.transaction((job: Job) => {
      const before = this.jobs.findJob(job.tenantId, job.id);
      this.jobs.updateJob(job);
      if (before !== null) counts.moveJobMemory(job.tenantId, job.id, before.resources, job.resources);
    });
    this.updateJobAndCounts = (job) => updateJob.immediate(job);
  }

  /** Opens (creating if needed) the database at `path`; ':memory:' gives a private in-memory store. */
  static open(path: string): SqliteStore {
    const db = new Database(path);
    try {
      configure(db);
      const applied = applyMigrations(db, Date.now());
      return new SqliteStore(db, Object.freeze(applied));
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  // MetaStore

  async getMeta(key: string): Promise<string | null> {
    return this.tenants.getMeta.get(key) ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.tenants.setMeta.run(key, value);
  }

  // TenantStore

  async createTenant(tenant: Tenant): Promise<void> {
    this.tenants.insertTenant.run(tenantToRow(tenant));
  }

  async getTenant(id: string): Promise<Tenant | null> {
    const row = this.tenants.tenantById.get(id);
    return row ? rowToTenant(row) : null;
  }

  async listTenants(): Promise<Tenant[]> {
    return this.tenants.allTenants.all().map(rowToTenant);
  }

  async updateTenantLimits(id: string, limits: Tenant['limits']): Promise<Tenant | null> {
    const row = this.tenants.updateTenantLimits.get(JSON.stringify(limits), id);
    return row ? rowToTenant(row) : null;
  }

  // ApiKeyStore

  async createApiKey(key: ApiKey): Promise<void> {
    this.tenants.insertApiKey.run(apiKeyToRow(key));
  }

  async findApiKeyByHash(secretHash: string): Promise<ApiKey | null> {
    const row = this.tenants.apiKeyByHash.get(secretHash);
    return row ? rowToApiKey(row) : null;
  }

  async getApiKey(id: string): Promise<ApiKey | null> {
    const row = this.tenants.apiKeyById.get(id);
    return row ? rowToApiKey(row) : null;
  }

  async listApiKeys(tenantId: string | null): Promise<ApiKey[]> {
    const rows = tenantId === null ? this.tenants.allApiKeys.all() : this.tenants.tenantApiKeys.all(tenantId);
    return rows.map(rowToApiKey);
  }

  async recordApiKeyUse(id: string, at: number, unlessUsedAfter: number): Promise<void> {
    // Bookkeeping like a heartbeat: losing the last minute of it to an OS crash costs nothing.
    this.withoutFsync(() => this.tenants.recordApiKeyUse.run(at, id, unlessUsedAfter));
  }

  async revokeApiKey(id: string, at: number): Promise<void> {
    this.tenants.revokeApiKey.run(at, id);
  }

  async revokeOtherAdminKeys(keepKeyId: string, at: number): Promise<number> {
    return this.tenants.revokeOtherAdminKeys.run(at, keepKeyId).changes;
  }

  // RegistryCredentialStore

  async putRegistryCredential(entry: SealedRegistryCredential, maxPerTenant: number): Promise<boolean> {
    return this.registries.put(entry, maxPerTenant);
  }

  async deleteRegistryCredential(tenantId: string, host: string): Promise<boolean> {
    return this.registries.remove(tenantId, host);
  }

  async listRegistryCredentials(tenantId: string): Promise<RegistryCredentialInfo[]> {
    return this.registries.list(tenantId);
  }

  async getRegistryCredential(tenantId: string, host: string): Promise<SealedRegistryCredential | null> {
    return this.registries.get(tenantId, host);
  }

  // JobStore

  async insertJob(job: Job, maxJobs: number): Promise<void> {
    this.insertJobWithinLimit(job, maxJobs);
  }

  async findJob(tenantId: string, idOrName: string): Promise<Job | null> {
    return this.jobs.findJob(tenantId, idOrName);
  }

  async listJobs(tenantId: string, limit: number, cursor?: string): Promise<Page<Job>> {
    return this.jobs.listJobs(tenantId, limit, cursor);
  }

  async updateJob(job: Job): Promise<void> {
    this.updateJobAndCounts(job);
  }

  async deleteJob(tenantId: string, jobId: string, at: number): Promise<DeletedJob> {
    return this.deleteJobAndStopRuns(tenantId, jobId, at);
  }

  // RunStore

  async insertRun(newRun: NewRun): Promise<InsertRunResult> {
    return this.runs.insertRun(newRun);
  }

  async getRun(tenantId: string, runId: string): Promise<Run | null> {
    return this.runs.getRun(tenantId, runId);
  }

  async findRunByIdempotencyKey(
    tenantId: string,
    key: string,
  ): Promise<{ run: Run; requestHash: string | null } | null> {
    return this.runs.findRunByIdempotencyKey(tenantId, key);
  }

  async getRunEvents(runId: string): Promise<RunEvent[]> {
    return this.runs.getRunEvents(runId);
  }

  async listRuns(tenantId: string, filter: RunFilter): Promise<Page<Run>> {
    return this.runs.listRuns(tenantId, filter);
  }

  async listQueuedRuns(): Promise<Run[]> {
    return this.runs.listQueuedRuns();
  }

  async markDispatched(runIds: string[], at: number): Promise<void> {
    this.withoutFsync(() => this.runs.markDispatched(runIds, at));
  }

  async takeRunsToDispatch(query: DispatchQuery): Promise<QueueMessage[]> {
    // Bookkeeping like markDispatched: if an OS crash undoes it, the run is dispatched again.
    return this.withoutFsync(() => this.runs.takeRunsToDispatch(query));
  }

  async requestCancel(tenantId: string, runId: string, at: number): Promise<CancelResult> {
    return this.runs.requestCancel(tenantId, runId, at);
  }

  async releaseBlockedRuns(finishedRunId: string | null, now: number): Promise<QueueMessage[]> {
    // Bookkeeping like markDispatched: if an OS crash undoes it, the run is still blocked, and the
    // reconciliation's releaseBlockedRuns(null) frees it again.
    return this.withoutFsync(() => this.overlap.releaseBlockedRuns(finishedRunId, now));
  }

  // AttemptStore

  async claimRun(runId: string, attempt: number, workerId: string, at: number): Promise<ClaimedRun | null> {
    return this.withoutFsync(() => this.runs.claimRun(runId, attempt, workerId, at));
  }

  async markStarted(runId: string, attempt: number, workerId: string, at: number): Promise<void> {
    this.withoutFsync(() => this.runs.markStarted(runId, attempt, workerId, at));
  }

  async finishAttempt(result: AttemptResult): Promise<FinishResult> {
    return this.runs.finishAttempt(result);
  }

  async releaseRun(
    runId: string,
    attempt: number,
    workerId: string,
    at: number,
    reason: string,
  ): Promise<boolean> {
    return this.runs.releaseRun(runId, attempt, workerId, at, reason);
  }

  async heartbeat(workerId: string, runs: HeldAttempt[], at: number): Promise<HeartbeatAnswer> {
    return this.withoutFsync(() => this.runs.heartbeat(workerId, runs, at));
  }

  /** Worker bookkeeping: committed without an fsync of its own (see the header). */
  private withoutFsync<T>(write: () => T): T {
    this.syncNormal.run();
    try {
      return write();
    } finally {
      this.syncFull.run();
    }
  }

  async listStaleRuns(before: number, limit: number): Promise<Run[]> {
    return this.runs.listStaleRuns(before, limit);
  }

  // ScheduleStore

  async insertSchedule(schedule: Schedule, maxSchedules: number): Promise<void> {
    this.schedules.insertSchedule(schedule, maxSchedules);
  }

  async getSchedule(tenantId: string, scheduleId: string): Promise<Schedule | null> {
    return this.schedules.getSchedule(tenantId, scheduleId);
  }

  async listSchedules(tenantId: string, filter: ScheduleFilter): Promise<Page<Schedule>> {
    return this.schedules.listSchedules(tenantId, filter);
  }

  async updateSchedule(schedule: Schedule): Promise<boolean> {
    return this.schedules.updateSchedule(schedule);
  }

  async updateSchedules(schedules: readonly Schedule[]): Promise<boolean> {
    return this.schedules.updateSchedules(schedules);
  }

  async deleteSchedule(tenantId: string, scheduleId: string, at: number): Promise<boolean> {
    return this.schedules.deleteSchedule(tenantId, scheduleId, at);
  }

  // ScheduleHistoryStore

  async listTickRuns(
    tenantId: string,
    scheduleId: string,
    fromMs: number,
    toMs: number,
    limit: number,
  ): Promise<TickRun[]> {
    return this.history.listTickRuns(tenantId, scheduleId, fromMs, toMs, limit);
  }

  async listSchedulePauses(
    tenantId: string,
    scheduleId: string,
    fromMs: number,
    toMs: number,
  ): Promise<PauseInterval[]> {
    return this.history.listSchedulePauses(tenantId, scheduleId, fromMs, toMs);
  }

  // ScheduleTimingStore

  async loadSchedules(
    partitions: readonly number[],
    afterId: string | null,
    limit: number,
  ): Promise<ScheduleTiming[]> {
    return this.schedules.loadSchedules(partitions, afterId, limit);
  }

  async getScheduleTiming(scheduleId: string): Promise<ScheduleTiming | null> {
    return this.schedules.getScheduleTiming(scheduleId);
  }

  async listScheduleChanges(
    partitions: readonly number[],
    afterSeq: number,
    limit: number,
  ): Promise<ScheduleTiming[]> {
    return this.schedules.listScheduleChanges(partitions, afterSeq, limit);
  }

  async latestScheduleChange(): Promise<number> {
    return this.schedules.latestScheduleChange();
  }

  // PartitionLeaseStore

  async syncPartitionLeases(round: LeaseRound): Promise<PartitionLease[]> {
    return this.leases.syncPartitionLeases(round);
  }

  async releasePartitionLeases(owner: string): Promise<void> {
    this.leases.releasePartitionLeases(owner);
  }

  // FireStore

  /** A durable write (synchronous=FULL): a fired tick must not come back as unfired after a crash. */
  async fireTicks(
    owner: string,
    leases: readonly PartitionLease[],
    fires: readonly TickFire[],
    now: number,
    through?: FiredThrough,
  ): Promise<FireResult> {
    return this.fires.fireTicks(owner, leases, fires, now, through);
  }

  async advanceWatermarks(
    owner: string,
    lease: PartitionLease,
    marks: readonly WatermarkMark[],
  ): Promise<boolean> {
    return this.fires.advanceWatermarks(owner, lease, marks);
  }

  // RateLimitStore

  async takeRateToken(key: string, limit: RateLimit, now: number): Promise<RateDecision> {
    // Bookkeeping: if an OS crash undoes the last takes, the tenant gets those tokens back, nothing more. The
    // run a take allows is written with an fsync right after, which makes the take durable too.
    return this.withoutFsync(() => this.rateLimits.takeRateToken(key, limit, now));
  }

  // LoadForecastStore

  async listScheduleLoad(tenantId: string | null, notEndedBefore: number): Promise<ScheduleLoadGroup[]> {
    return this.forecast.listScheduleLoad(tenantId, notEndedBefore);
  }

  async listQueuedLoad(tenantId: string | null, fromMs: number, toMs: number): Promise<QueuedLoadGroup[]> {
    return this.forecast.listQueuedLoad(tenantId, fromMs, toMs);
  }

  // WebhookStore

  async insertWebhook(webhook: Webhook, maxWebhooks: number): Promise<void> {
    this.webhooks.insertWebhook(webhook, maxWebhooks);
  }

  async getWebhook(tenantId: string, webhookId: string): Promise<Webhook | null> {
    return this.webhooks.getWebhook(tenantId, webhookId);
  }

  async listWebhooks(tenantId: string, limit: number, cursor?: string): Promise<Page<Webhook>> {
    return this.webhooks.listWebhooks(tenantId, limit, cursor);
  }

  async deleteWebhook(tenantId: string, webhookId: string): Promise<boolean> {
    return this.webhooks.deleteWebhook(tenantId, webhookId);
  }

  async listDeliveries(
    tenantId: string,
    webhookId: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<WebhookDelivery> | null> {
    return this.webhooks.listDeliveries(tenantId, webhookId, limit, cursor);
  }

  async claimDeliveries(nowMs: number, leaseUntil: number, limit: number): Promise<ClaimedDelivery[]> {
    // Bookkeeping: a claim an OS crash undoes only makes the delivery due again (at least once).
    return this.withoutFsync(() => this.webhooks.claimDeliveries(nowMs, leaseUntil, limit));
  }

  async pruneDeliveries(before: number, limit: number): Promise<number> {
    return this.webhooks.pruneDeliveries(before, limit);
  }

  async recordDeliveryAttempt(
    claim: ClaimedDelivery,
    record: DeliveryRecord,
    nowMs: number,
  ): Promise<boolean> {
    return this.webhooks.recordDeliveryAttempt(claim, record, nowMs);
  }

  // RunStatsStore

  async getRunStats(query: RunStatsQuery): Promise<RunStatsCounts> {
    return this.stats.getRunStats(query);
  }

  async rollUpRunStats(rollup: RunStatsRollup): Promise<void> {
    this.stats.rollUpRunStats(rollup);
  }

  async getRolledRunCounts(query: RolledCountsQuery): Promise<RolledCounts> {
    return this.stats.getRolledRunCounts(query);
  }
}
