// Domain objects → their JSON shapes in the HTTP contract (epoch ms → ISO 8601 UTC with milliseconds).

import type { Job } from '../core/job.js';
import { lagMs, type Run, type RunEvent } from '../core/run.js';
import type { Tenant } from '../core/tenant.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export function renderTenant(t: Tenant) {
  return { id: t.id, name: t.name, limits: t.limits, createdAt: iso(t.createdAt) };
}

export function renderJob(j: Job) {
  return {
    id: j.id,
    name: j.name,
    image: j.image,
    command: j.command,
    args: j.args,
    env: j.env,
    resources: j.resources,
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
    lagMs: lagMs(r),
  };
}

export function renderRunEvent(e: RunEvent) {
  return { at: iso(e.at), type: e.type, attempt: e.attempt, status: e.status, detail: e.detail };
}
