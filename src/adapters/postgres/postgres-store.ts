// The Store port on PostgreSQL, for the distributed mode: several api, scheduler and worker processes on one
// database. This module owns the pool (postgres-database.ts): it opens it, applies pending migrations, makes
// the day partitions of runs, runs their maintenance periodically, and closes it. The statements live with
// their concern, as in the SQLite adapter (postgres-job-queries.ts, postgres-run-queries.ts,
// postgres-attempt-queries.ts, postgres-schedule-queries.ts, postgres-lease-queries.ts,
// postgres-fire-queries.ts, postgres-overlap-queries.ts, postgres-registry-queries.ts,
// postgres-tenant-queries.ts, postgres-rate-limit-queries.ts, postgres-webhook-queries.ts); this class chooses, per method, whether it is
// one statement (autocommit, atomic on its own) or a transaction.
//
// Correct with several processes at once, without SQLite's single writer: each method's atomicity comes from
// one statement or one transaction at READ COMMITTED, with the row and advisory locks the query files name —
// claims and every later worker write fenced in their UPDATE's WHERE; plan limits counted under a per-tenant
// advisory lock; lease rounds under a store-wide one, with a conditional take; the schedule change sequence
// from a counter row locked until commit (so in commit order); each firing holding its partitions' lease rows
// FOR UPDATE; a tick's run unique by its primary key; a rate-limit take a compare-and-set on its key's row.
// Durability is PostgreSQL's: a commit is acknowledged once its WAL is flushed (synchronous_commit on, the
// server's default), so everything this store answers is durable on the server, with no per-call trade-off
// as on SQLite.

import type { Job } from '../../core/job.js';
import type { RegistryCredentialInfo, SealedRegistryCredential } from '../../core/registry-credential.js';
import type { RateDecision } from '../../core/rate-limit.js';
import type { Run, RunEvent } from '../../core/run.js';
import type { RolledCounts, RolledCountsQuery, RunStatsRollup } from '../../core/run-stats-rollup.js';
import type { RunStatsCounts, RunStatsQuery } from '../../core/run-stats.js';
import type { Schedule } from '../../core/schedule.js';
import type { Webhook, WebhookDelivery } from '../../core/webhook.js';
import type { PauseInterval, TickRun } from '../../core/tick-explanation.js';
import type { ApiKey, Tenant } from '../../core/tenant.js';
import type { QueueMessage } from '../../ports/queue.js';
import type {
  ClaimedDelivery,
  DeliveryRecord,
  AttemptResult,
  CancelResult,
  ClaimedRun,
  DispatchQuery,
  FinishResult,
  FiredThrough,
  FireResult,
  HeartbeatAnswer,
  HeldAttempt,
  InsertRunResult,
  LeaseRound,
  NewRun,
  Page,
  PartitionLease,
  QueuedLoadGroup,
  RateLimit,
  RunFilter,
  ScheduleFilter,
  ScheduleLoadGroup,
  ScheduleTiming,
  Store,
  TickFire,
} from '../../ports/store.js';
import * as attempts from './postgres-attempt-queries.js';
import { PostgresDatabase } from './postgres-database.js';
import * as fire from './postgres-fire-queries.js';
import * as jobs from './postgres-job-queries.js';
import * as leases from './postgres-lease-queries.js';
import * as forecastCounts from './postgres-load-forecast-counts.js';
import * as loadForecast from './postgres-load-forecast-queries.js';
import { applyMigrations } from './postgres-migrations.js';
import * as overlap from './postgres-overlap-queries.js';
import { maintainPartitions, type PartitionReport } from './postgres-partitions.js';
import * as rateLimits from './postgres-rate-limit-queries.js';
import * as registries from './postgres-registry-queries.js';
import { listRuns } from './postgres-run-list-queries.js';
import * as runs from './postgres-run-queries.js';
import * as history from './postgres-schedule-history-queries.js';
import * as schedules from './postgres-schedule-queries.js';
import * as stats from './postgres-stats-queries.js';
import {
  resolvePostgresOptions,
  type PostgresStoreOptions,
  type ResolvedPostgresOptions,
} from './postgres-options.js';
import * as tenants from './postgres-tenant-queries.js';
import * as webhooks from './postgres-webhook-queries.js';

export class PostgresStore implements Store {
  private maintenanceTimer: NodeJS.Timeout | null = null;
  private maintenance: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: PostgresDatabase,
    readonly options: ResolvedPostgresOptions,
    /** Migration versions applied by this open (empty when the schema was already current). */
    readonly migrationsApplied: readonly number[],
  ) {}

  /**
   * Connects, applies pending migrations, makes the coming days' partitions, and (unless turned off) runs
   * partition maintenance every `maintenanceIntervalMs` from then on.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const resolved = resolvePostgresOptions(options);
    const db = new PostgresDatabase({
      connectionString: resolved.connectionString,
      poolSize: resolved.poolSize,
      maxAttempts: resolved.maxTransactionAttempts,
    });
    try {
      const applied = await db.session((client) => applyMigrations(client, Date.now()));
      const store = new PostgresStore(db, resolved, Object.freeze(applied));
      await store.maintainPartitions();
      store.scheduleMaintenance();
      return store;
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  /**
   * Makes the partitions of today and the next `partitionDaysAhead` days, and drops (or trims) those past
   * `retentionDays` (postgres-partitions.ts). Safe to call from several processes: one at a time does it.
   */
  maintainPartitions(
    now: number = Date.now(),
    retentionDays: number = this.options.retentionDays,
  ): Promise<PartitionReport> {
    const round = this.maintenance.then(() =>
      this.db.session((client) =>
        maintainPartitions(client, now, retentionDays, this.options.partitionDaysAhead),
      ),
    );
    this.maintenance = round.catch(() => {});
    return round;
  }

  private scheduleMaintenance(): void {
    const every = this.options.maintenanceIntervalMs;
    if (every === 0) return;
    this.maintenanceTimer = setInterval(() => {
      this.maintainPartitions().catch((error: unknown) => this.options.onMaintenanceError(error));
    }, every);
    // Maintenance never keeps a process alive on its own.
    this.maintenanceTimer.unref();
  }

  async close(): Promise<void> {
    if (this.maintenanceTimer !== null) clearInterval(this.maintenanceTimer);
    this.maintenanceTimer = null;
    await this.maintenance;
    await this.db.close();
  }

  getMeta(key: string): Promise<string | null> {
    return this.db.autocommit((sql) => tenants.getMeta(sql, key));
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.db.autocommit((sql) => tenants.setMeta(sql, key, value));
  }

  createTenant(tenant: Tenant): Promise<void> {
    return this.db.autocommit((sql) => tenants.createTenant(sql, tenant));
  }

  getTenant(id: string): Promise<Tenant | null> {
    return this.db.autocommit((sql) => tenants.getTenant(sql, id));
  }

  listTenants(): Promise<Tenant[]> {
    return this.db.autocommit((sql) => tenants.listTenants(sql));
  }

  updateTenantLimits(id: string, limits: Tenant['limits']): Promise<Tenant | null> {
    return this.db.autocommit((sql) => tenants.updateTenantLimits(sql, id, limits));
  }

  createApiKey(key: ApiKey): Promise<void> {
    return this.db.autocommit((sql) => tenants.createApiKey(sql, key));
  }

  findApiKeyByHash(secretHash: string): Promise<ApiKey | null> {
    return this.db.autocommit((sql) => tenants.findApiKeyByHash(sql, secretHash));
  }

  getApiKey(id: string): Promise<ApiKey | null> {
    return this.db.autocommit((sql) => tenants.getApiKey(sql, id));
  }

  revokeApiKey(id: string, at: number): Promise<void> {
    return this.db.autocommit((sql) => tenants.revokeApiKey(sql, id, at));
  }

  listApiKeys(tenantId: string | null): Promise<ApiKey[]> {
    return this.db.autocommit((sql) => tenants.listApiKeys(sql, tenantId));
  }

  recordApiKeyUse(id: string, at: number, unlessUsedAfter: number): Promise<void> {
    return this.db.autocommit((sql) => tenants.recordApiKeyUse(sql, id, at, unlessUsedAfter));
  }

  revokeOtherAdminKeys(keepKeyId: string, at: number): Promise<number> {
    return this.db.autocommit((sql) => tenants.revokeOtherAdminKeys(sql, keepKeyId, at));
  }

  putRegistryCredential(entry: SealedRegistryCredential, maxPerTenant: number): Promise<boolean> {
    return this.db.transaction((sql) => registries.putRegistryCredential(sql, entry, maxPerTenant));
  }

  deleteRegistryCredential(tenantId: string, host: string): Promise<boolean> {
    return this.db.autocommit((sql) => registries.deleteRegistryCredential(sql, tenantId, host));
  }

  listRegistryCredentials(tenantId: string): Promise<RegistryCredentialInfo[]> {
    return this.db.autocommit((sql) => registries.listRegistryCredentials(sql, tenantId));
  }

  getRegistryCredential(tenantId: string, host: string): Promise<SealedRegistryCredential | null> {
    return this.db.autocommit((sql) => registries.getRegistryCredential(sql, tenantId, host));
  }

  insertJob(job: Job, maxJobs: number): Promise<void> {
    return this.db.transaction((sql) => jobs.insertJobWithinLimit(sql, job, maxJobs));
  }

  findJob(tenantId: string, idOrName: string): Promise<Job | null> {
    return this.db.autocommit((sql) => jobs.findJob(sql, tenantId, idOrName));
  }

  listJobs(tenantId: string, limit: number, cursor?: string): Promise<Page<Job>> {
    return this.db.autocommit((sql) => jobs.listJobs(sql, tenantId, limit, cursor));
  }

  updateJob(job: Job): Promise<void> {
    return this.db.transaction((sql) => jobs.updateJob(sql, job));
  }

  /**
   * One transaction, locks in this order: the job row; the lease rows of its schedules' partitions (so no
   * firing of them is in flight, see postgres-fire-queries.ts); its schedules; the change counter; its runs.
   */
  deleteJob(
    tenantId: string,
    jobId: string,
    at: number,
  ): Promise<{ cancelled: string[]; stopping: string[]; schedules: string[] }> {
    return this.db.transaction(async (sql) => {
      await jobs.softDeleteJob(sql, tenantId, jobId, at);
      await leases.lockPartitionsOfJob(sql, tenantId, jobId);
      const deleted = await schedules.deleteSchedulesOfJob(sql, tenantId, jobId, at);
      return { ...(await runs.cancelRunsOfJob(sql, tenantId, jobId, at)), schedules: deleted };
    });
  }

  insertRun(newRun: NewRun): Promise<InsertRunResult> {
    // Without a key it is one statement; with one, the key's row and the run commit together.
    return newRun.run.idempotencyKey === null
      ? this.db.autocommit((sql) => runs.insertRun(sql, newRun))
      : this.db.transaction((sql) => runs.insertRun(sql, newRun));
  }

  getRun(tenantId: string, runId: string): Promise<Run | null> {
    return this.db.autocommit((sql) => runs.getRun(sql, tenantId, runId));
  }

  findRunByIdempotencyKey(
    tenantId: string,
    key: string,
  ): Promise<{ run: Run; requestHash: string | null } | null> {
    return this.db.autocommit((sql) => runs.findRunByIdempotencyKey(sql, tenantId, key));
  }

  getRunEvents(runId: string): Promise<RunEvent[]> {
    return this.db.autocommit((sql) => runs.getRunEvents(sql, runId));
  }

  listRuns(tenantId: string, filter: RunFilter): Promise<Page<Run>> {
    return this.db.autocommit((sql) => listRuns(sql, tenantId, filter));
  }

  listQueuedRuns(): Promise<Run[]> {
    return this.db.autocommit((sql) => runs.listQueuedRuns(sql));
  }

  markDispatched(runIds: string[], at: number): Promise<void> {
    return this.db.autocommit((sql) => runs.markDispatched(sql, runIds, at));
  }

  takeRunsToDispatch(query: DispatchQuery): Promise<QueueMessage[]> {
    return this.db.transaction((sql) => runs.takeRunsToDispatch(sql, query));
  }

  claimRun(runId: string, attempt: number, workerId: string, at: number): Promise<ClaimedRun | null> {
    return this.db.transaction((sql) => attempts.claimRun(sql, runId, attempt, workerId, at));
  }

  markStarted(runId: string, attempt: number, workerId: string, at: number): Promise<void> {
    return this.db.autocommit((sql) => attempts.markStarted(sql, runId, attempt, workerId, at));
  }

  finishAttempt(result: AttemptResult): Promise<FinishResult> {
    return this.db.transaction((sql) => attempts.finishAttempt(sql, result));
  }

  releaseRun(runId: string, attempt: number, workerId: string, at: number, reason: string): Promise<boolean> {
    return this.db.autocommit((sql) => attempts.releaseRun(sql, runId, attempt, workerId, at, reason));
  }

  heartbeat(workerId: string, held: HeldAttempt[], at: number): Promise<HeartbeatAnswer> {
    return this.db.autocommit((sql) => attempts.heartbeat(sql, workerId, held, at));
  }

  requestCancel(tenantId: string, runId: string, at: number): Promise<CancelResult> {
    return this.db.transaction((sql) => runs.requestCancel(sql, tenantId, runId, at));
  }

  listStaleRuns(before: number, limit: number): Promise<Run[]> {
    return this.db.autocommit((sql) => attempts.listStaleRuns(sql, before, limit));
  }

  releaseBlockedRuns(finishedRunId: string | null, now: number): Promise<QueueMessage[]> {
    return this.db.autocommit((sql) => overlap.releaseBlockedRuns(sql, finishedRunId, now));
  }

  insertSchedule(schedule: Schedule, maxSchedules: number): Promise<void> {
    return this.db.transaction((sql) => schedules.insertSchedule(sql, schedule, maxSchedules));
  }

  getSchedule(tenantId: string, scheduleId: string): Promise<Schedule | null> {
    return this.db.autocommit((sql) => schedules.getSchedule(sql, tenantId, scheduleId));
  }

  listSchedules(tenantId: string, filter: ScheduleFilter): Promise<Page<Schedule>> {
    return this.db.autocommit((sql) => schedules.listSchedules(sql, tenantId, filter));
  }

  updateSchedule(schedule: Schedule): Promise<boolean> {
    return this.db.transaction((sql) => schedules.updateSchedule(sql, schedule));
  }

  updateSchedules(list: readonly Schedule[]): Promise<boolean> {
    return this.db.transaction((sql) => schedules.updateSchedules(sql, list));
  }

  deleteSchedule(tenantId: string, scheduleId: string, at: number): Promise<boolean> {
    return this.db.transaction((sql) => schedules.deleteSchedule(sql, tenantId, scheduleId, at));
  }

  listTickRuns(
    tenantId: string,
    scheduleId: string,
    fromMs: number,
    toMs: number,
    limit: number,
  ): Promise<TickRun[]> {
    return this.db.autocommit((sql) => history.listTickRuns(sql, tenantId, scheduleId, fromMs, toMs, limit));
  }

  listSchedulePauses(
    tenantId: string,
    scheduleId: string,
    fromMs: number,
    toMs: number,
  ): Promise<PauseInterval[]> {
    return this.db.autocommit((sql) => history.listSchedulePauses(sql, tenantId, scheduleId, fromMs, toMs));
  }

  loadSchedules(
    partitions: readonly number[],
    afterId: string | null,
    limit: number,
  ): Promise<ScheduleTiming[]> {
    return this.db.autocommit((sql) => schedules.loadSchedules(sql, partitions, afterId, limit));
  }

  getScheduleTiming(scheduleId: string): Promise<ScheduleTiming | null> {
    return this.db.autocommit((sql) => schedules.getScheduleTiming(sql, scheduleId));
  }

  listScheduleChanges(
    partitions: readonly number[],
    afterSeq: number,
    limit: number,
  ): Promise<ScheduleTiming[]> {
    return this.db.autocommit((sql) => schedules.listScheduleChanges(sql, partitions, afterSeq, limit));
  }

  latestScheduleChange(): Promise<number> {
    return this.db.autocommit((sql) => schedules.latestScheduleChange(sql));
  }

  syncPartitionLeases(round: LeaseRound): Promise<PartitionLease[]> {
    return this.db.transaction((sql) => leases.syncPartitionLeases(sql, round, this.options.leaseClock));
  }

  releasePartitionLeases(owner: string): Promise<void> {
    return this.db.transaction((sql) => leases.releasePartitionLeases(sql, owner));
  }

  fireTicks(
    owner: string,
    held: readonly PartitionLease[],
    fires: readonly TickFire[],
    now: number,
    through?: FiredThrough,
  ): Promise<FireResult> {
    return this.db.transaction((sql) => fire.fireTicks(sql, owner, held, fires, now, through));
  }

  advanceWatermarks(
    owner: string,
    lease: PartitionLease,
    marks: readonly { scheduleId: string; version: number; nextFireAt: number | null }[],
  ): Promise<boolean> {
    return this.db.transaction((sql) => fire.advanceWatermarks(sql, owner, lease, marks));
  }

  /** Judged by the database's clock, not `now` (postgres-rate-limit-queries.ts). */
  takeRateToken(key: string, limit: RateLimit, _now: number): Promise<RateDecision> {
    return this.db.autocommit((sql) => rateLimits.takeRateToken(sql, key, limit));
  }

  /** The counts, rebuilt first when a schedule change went past them (postgres-load-forecast-counts.ts). */
  async listScheduleLoad(tenantId: string | null, notEndedBefore: number): Promise<ScheduleLoadGroup[]> {
    if (await this.db.autocommit((sql) => forecastCounts.countsAreStale(sql))) {
      await this.db.transaction((sql) => forecastCounts.rebuildStaleCounts(sql));
    }
    return this.db.autocommit((sql) => loadForecast.listScheduleLoad(sql, tenantId, notEndedBefore));
  }

  listQueuedLoad(tenantId: string | null, fromMs: number, toMs: number): Promise<QueuedLoadGroup[]> {
    return this.db.autocommit((sql) => loadForecast.listQueuedLoad(sql, tenantId, fromMs, toMs));
  }

  /** Its statements in parallel, each on its own snapshot: counts of a moving window need no more. */
  insertWebhook(webhook: Webhook, maxWebhooks: number): Promise<void> {
    return this.db.transaction((sql) => webhooks.insertWebhook(sql, webhook, maxWebhooks));
  }

  getWebhook(tenantId: string, webhookId: string): Promise<Webhook | null> {
    return this.db.autocommit((sql) => webhooks.getWebhook(sql, tenantId, webhookId));
  }

  listWebhooks(tenantId: string, limit: number, cursor?: string): Promise<Page<Webhook>> {
    return this.db.autocommit((sql) => webhooks.listWebhooks(sql, tenantId, limit, cursor));
  }

  deleteWebhook(tenantId: string, webhookId: string): Promise<boolean> {
    return this.db.transaction((sql) => webhooks.deleteWebhook(sql, tenantId, webhookId));
  }

  listDeliveries(
    tenantId: string,
    webhookId: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<WebhookDelivery> | null> {
    return this.db.autocommit((sql) => webhooks.listDeliveries(sql, tenantId, webhookId, limit, cursor));
  }

  claimDeliveries(nowMs: number, leaseUntil: number, limit: number): Promise<ClaimedDelivery[]> {
    return this.db.autocommit((sql) => webhooks.claimDeliveries(sql, nowMs, leaseUntil, limit));
  }

  pruneDeliveries(before: number, limit: number): Promise<number> {
    return this.db.autocommit((sql) => webhooks.pruneDeliveries(sql, before, limit));
  }

  recordDeliveryAttempt(claim: ClaimedDelivery, record: DeliveryRecord, nowMs: number): Promise<boolean> {
    return this.db.transaction((sql) => webhooks.recordDeliveryAttempt(sql, claim, record, nowMs));
  }

  getRunStats(query: RunStatsQuery): Promise<RunStatsCounts> {
    return this.db.autocommit((sql) => stats.getRunStats(sql, query));
  }

  rollUpRunStats(rollup: RunStatsRollup): Promise<void> {
    return this.db.autocommit((sql) => stats.rollUpRunStats(this.db, sql, rollup));
  }

  getRolledRunCounts(query: RolledCountsQuery): Promise<RolledCounts> {
    return this.db.autocommit((sql) => stats.getRolledRunCounts(sql, query));
  }
}
