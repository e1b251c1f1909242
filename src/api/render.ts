// Domain objects → their JSON shapes in the HTTP contract (epoch ms → ISO 8601 UTC with milliseconds).

import { memoryRequestOf, runtimeOf, type Job } from '../core/job.js';
import { lagMs, type Run, type RunEvent } from '../core/run.js';
import type { RegistryCredentialInfo } from '../core/registry-credential.js';
import type { Schedule } from '../core/schedule.js';
import { eventType, type Webhook, type WebhookDelivery } from '../core/webhook.js';
import { offsetMinutes } from '../core/schedule-time.js';
import { withPlanDefaults, type ApiKey, type Tenant } from '../core/tenant.js';
import type { ProcessIsolation } from '../ports/executor.js';
import type { TickExplanation } from '../core/tick-explanation.js';
import type { PreviewFire } from '../services/schedule-service.js';

export const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export function renderTenant(t: Tenant) {
  return { id: t.id, name: t.name, limits: withPlanDefaults(t.limits), createdAt: iso(t.createdAt) };
}

/** What an admin may see of a key: never its secret, its hash or its prefix (a piece of the secret). */
export function renderApiKey(k: ApiKey) {
  return {
    id: k.id,
    name: k.name,
    scope: k.scope,
    tenantId: k.tenantId,
    createdAt: iso(k.createdAt),
    lastUsedAt: isoOrNull(k.lastUsedAt),
    revokedAt: isoOrNull(k.revokedAt),
  };
}

/**
 * `memoryLimit` says how this server enforces a host command's `resources.memoryMb` (see ProcessIsolation);
 * null when it cannot say: a job with an image, or a server without a worker.
 */
export function renderJob(j: Job, isolation: ProcessIsolation | null = null) {
  return {
    id: j.id,
    name: j.name,
    image: j.image,
    network: j.network ?? 'none',
    command: j.command,
    args: j.args,
    env: j.env,
    resources: {
      memoryMb: j.resources.memoryMb,
      memoryRequestMb: memoryRequestOf(j.resources),
    },
    memoryLimit: runtimeOf(j) === 'process' && isolation !== null ? isolation.memoryLimit : null,
    timeoutSeconds: j.timeoutSeconds,
    retry: j.retry,
    createdAt: iso(j.createdAt),
    updatedAt: iso(j.updatedAt),
  };
}

export function renderRun(r: Run) {
  return {
    id: r.id,
    jobId: r.jobId,
    scheduleId: r.scheduleId,
    status: r.status,
    attempt: r.attempt,
    exitCode: r.exitCode,
    reason: r.reason,
    args: r.args,
    env: r.env,
    createdAt: iso(r.createdAt),
    dispatchedAt: isoOrNull(r.dispatchedAt),
    startedAt: isoOrNull(r.startedAt),
    finishedAt: isoOrNull(r.finishedAt),
    nominalTime: iso(r.nominalTime),
    dueAt: iso(r.dueAt),
    blockedBy: r.blockedBy,
    lagMs: lagMs(r),
    imageDigest: r.imageDigest,
  };
}

/** A registry login as its tenant sees it: never its password, sealed or not. */
export function renderRegistryLogin(login: RegistryCredentialInfo) {
  return {
    host: login.host,
    username: login.username,
    createdAt: iso(login.createdAt),
    updatedAt: iso(login.updatedAt),
  };
}

/** A webhook as its tenant sees it: never its secret (shown once, by the create route alone). */
export function renderWebhook(w: Webhook) {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    jobId: w.jobId,
    createdAt: iso(w.createdAt),
    disabled: w.disabledAt !== null,
    disabledAt: isoOrNull(w.disabledAt),
    disabledReason: w.disabledReason,
  };
}

export function renderWebhookDelivery(d: WebhookDelivery) {
  return {
    id: d.id,
    runId: d.runId,
    event: eventType(d.event),
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    nextAttemptAt: isoOrNull(d.nextAttemptAt),
    createdAt: iso(d.createdAt),
    deliveredAt: isoOrNull(d.deliveredAt),
  };
}

export function renderSchedule(s: Schedule) {
  return {
    id: s.id,
    jobId: s.jobId,
    cron: s.spec.kind === 'cron' ? s.spec.cron : null,
    timezone: s.spec.kind === 'cron' ? s.spec.timezone : null,
    every: s.spec.kind === 'every' ? s.spec.every : null,
    startAt: isoOrNull(s.startAt),
    endAt: isoOrNull(s.endAt),
    paused: s.paused,
    overlapPolicy: s.overlapPolicy,
    catchup: s.catchup,
    jitterSeconds: s.jitterSeconds,
    args: s.args,
    env: s.env,
    // The stored watermark of a paused schedule is not when it will fire: resuming places it anew.
    nextFireAt: s.paused ? null : isoOrNull(s.nextFireAt),
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
    version: s.version,
  };
}

export function renderPreviewFire(fire: PreviewFire, timezone: string) {
  return {
    at: iso(fire.nominalTime),
    nominalTime: iso(fire.nominalTime),
    dueAt: iso(fire.dueAt),
    localTime: localTime(fire.nominalTime, timezone),
    dst: fire.dst,
  };
}

export function renderTickExplanation(tick: TickExplanation, timezone: string) {
  return { ...tick, nominalTime: iso(tick.nominalTime), localTime: localTime(tick.nominalTime, timezone) };
}

/** `2026-11-01T01:30:00-04:00`: the wall clock of the zone at that instant, and its offset. */
function localTime(ms: number, timezone: string): string {
  const offset = offsetMinutes(timezone, ms);
  const wall = new Date(ms + offset * 60_000).toISOString().slice(0, 19);
  const abs = Math.abs(offset);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${wall}${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

export function renderRunEvent(e: RunEvent) {
  return { at: iso(e.at), type: e.type, attempt: e.attempt, status: e.status, detail: e.detail };
}
