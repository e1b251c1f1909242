// The store port: everything Hourglass keeps durably, one interface per concern (src/ports/store/), so that
// each service depends on the concerns it uses and an adapter can be read one concern at a time:
//
//   MetaStore                deployment facts (bootstrap mark, readiness)
//   TenantStore              tenants and their plan limits
//   ApiKeyStore              API keys by secret hash
//   RegistryCredentialStore  tenants' sealed registry logins
//   JobStore                 job definitions
//   RunStore                 runs: creation (idempotency), reads, cancel, dispatch, overlap blocks
//   AttemptStore             a worker's attempts: claim, start, finish, release, heartbeat; stale ones
//   ScheduleStore            schedules, tenant-facing (each change raises the change sequence)
//   ScheduleTimingStore      the scheduler engine's reads: timings and the change sequence
//   ScheduleHistoryStore     a schedule's runs by tick and its pauses, to explain its ticks
//   PartitionLeaseStore      scheduler nodes' partition leases and membership
//   FireStore                the engine's fenced writes: fired ticks and watermarks
//   RateLimitStore           rate limits shared by every process (run creation per tenant)
//   LoadForecastStore        the load forecast's grouped reads of schedules and runs queued for later
//   RunStatsStore            counts of runs over a window, for the overview (GET /v1/stats)
//   WebhookStore             webhooks, and the deliveries the store makes as runs end (an outbox)
//
// An adapter implements `Store`, all of them at once, over one database; the composition root passes that
// one object to every service. One contract suite per concern (test/contract/*.contract.test.ts) runs
// against every adapter. Every tenant-facing read takes the tenant id, so another tenant's ids are simply
// not found.
//
// Concurrency: many processes call one store at once. Every method is atomic (its writes commit together or
// not at all), resolves once they are committed, and reads only committed data. What each method must keep
// under concurrent callers (claims, plan limits, Idempotency-Keys, lease rounds, fired ticks, the change
// sequence, rate limits) is written on it, and gathered, with what a second adapter needs for it under READ
// COMMITTED, in docs/architecture.md, "The Store's concurrency contract";
// test/contract/store-concurrency.contract.test.ts races two connections on every adapter to check it.

import type { ApiKeyStore } from './store/api-key-store.js';
import type { AttemptStore } from './store/attempt-store.js';
import type { FireStore } from './store/fire-store.js';
import type { JobStore } from './store/job-store.js';
import type { LoadForecastStore } from './store/load-forecast-store.js';
import type { MetaStore } from './store/meta-store.js';
import type { PartitionLeaseStore } from './store/partition-lease-store.js';
import type { RateLimitStore } from './store/rate-limit-store.js';
import type { RegistryCredentialStore } from './store/registry-credential-store.js';
import type { RunStore } from './store/run-store.js';
import type { ScheduleHistoryStore } from './store/schedule-history-store.js';
import type { RunStatsStore } from './store/run-stats-store.js';
import type { ScheduleStore } from './store/schedule-store.js';
import type { ScheduleTimingStore } from './store/schedule-timing-store.js';
import type { TenantStore } from './store/tenant-store.js';
import type { WebhookStore } from './store/webhook-store.js';

export type { ApiKeyStore } from './store/api-key-store.js';
export type {
  AttemptResult,
  AttemptStore,
  ClaimedRun,
  FinishResult,
  HeartbeatAnswer,
  HeldAttempt,
} from './store/attempt-store.js';
export type { FiredThrough, FireResult, FireStore, TickFire, WatermarkMark } from './store/fire-store.js';
export type { DeletedJob, JobStore } from './store/job-store.js';
export type { LoadForecastStore, QueuedLoadGroup, ScheduleLoadGroup } from './store/load-forecast-store.js';
export type { MetaStore } from './store/meta-store.js';
export type { Page } from './store/page.js';
export type { LeaseRound, PartitionLease, PartitionLeaseStore } from './store/partition-lease-store.js';
export type { RateLimit, RateLimitStore } from './store/rate-limit-store.js';
export type { RegistryCredentialStore } from './store/registry-credential-store.js';
export type {
  CancelResult,
  DispatchQuery,
  InsertRunResult,
  NewRun,
  RunFilter,
  RunStore,
} from './store/run-store.js';
export type { ScheduleHistoryStore } from './store/schedule-history-store.js';
export type { RunStatsStore } from './store/run-stats-store.js';
export type { ScheduleFilter, ScheduleStore } from './store/schedule-store.js';
export type { ScheduleTiming, ScheduleTimingStore } from './store/schedule-timing-store.js';
export type { TenantStore } from './store/tenant-store.js';
export type { ClaimedDelivery, DeliveryRecord, WebhookStore } from './store/webhook-store.js';

export interface Store
  extends
    MetaStore,
    TenantStore,
    ApiKeyStore,
    RegistryCredentialStore,
    JobStore,
    RunStore,
    AttemptStore,
    ScheduleStore,
    ScheduleTimingStore,
    ScheduleHistoryStore,
    PartitionLeaseStore,
    FireStore,
    RateLimitStore,
    LoadForecastStore,
    RunStatsStore,
    WebhookStore {
  close(): Promise<void>;
}
