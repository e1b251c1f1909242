// The load forecast's counts (core/forecast-share.ts), as in sqlite-load-forecast-counts.ts: a row of
// forecast_load per tenant and forecast key with the number of counted schedules and the memory their runs
// request, changed inside the transaction of every schedule write (postgres-schedule-queries.ts) and of a
// job's change of memory (postgres-job-queries.ts). A row whose count reaches zero is removed.
//
// Every change of these rows is made while holding the schedule change counter's row lock (taken by each
// schedule write, and by a job's change of memory before it moves its shares), so changes of the counts are
// serialized as schedule changes are, and their row locks cannot deadlock. The shares of one write are
// netted by key first: one statement may not change a row twice, and an update that keeps the timing then
// changes nothing.
//
// A process of the version before the counts (during a rolling upgrade) writes schedules without them. So
// the counter row's counted_seq records the change the counts are current with: takeChangeSeqs moves it
// along with seq only if it was current, and a read that finds it behind rebuilds the counts.

import {
  forecastShareOf,
  memoryChangeShare,
  type ForecastShare,
  type ForecastTiming,
} from '../../core/forecast-share.js';
import { memoryRequestOf, type JobResources } from '../../core/job.js';
import type { Sql } from './postgres-database.js';

export const FORECAST_TIMING_COLUMNS = 'kind, cron, timezone, interval_ms, anchor_at, start_at, end_at';

export interface TimingRow {
  kind: 'cron' | 'every';
  cron: string | null;
  timezone: string | null;
  interval_ms: number | null;
  anchor_at: number | null;
  start_at: number | null;
  end_at: number | null;
}

export function timingOfRow(row: TimingRow): ForecastTiming {
  return {
    spec:
      row.kind === 'cron'
        ? { kind: 'cron', expression: row.cron ?? '', timezone: row.timezone ?? 'UTC' }
        : { kind: 'every', intervalMs: Number(row.interval_ms), anchorMs: Number(row.anchor_at) },
    startAt: row.start_at === null ? null : Number(row.start_at),
    endAt: row.end_at === null ? null : Number(row.end_at),
  };
}

/** The timing's columns, in the order of FORECAST_TIMING_COLUMNS. */
function timingColumns({ spec, startAt, endAt }: ForecastTiming): (string | number | null)[] {
  return spec.kind === 'cron'
    ? ['cron', spec.expression, spec.timezone, null, null, startAt, endAt]
    : ['every', null, null, spec.intervalMs, spec.anchorMs, startAt, endAt];
}

interface ResourceColumns {
  memory_mb: number;
  memory_request_mb: number | null;
}

function resourcesOf(row: ResourceColumns): JobResources {
  return row.memory_request_mb === null
    ? { memoryMb: row.memory_mb }
    : { memoryMb: row.memory_mb, memoryRequestMb: row.memory_request_mb };
}

/** A share and the tenant whose counts it is of; `sign` −1 takes it away. */
export interface TenantShare {
  tenantId: string;
  share: ForecastShare;
  sign: 1 | -1;
}

/** What the schedule as stored now adds to its tenant's counts; null when nothing (paused, deleted). */
export async function storedShare(sql: Sql, scheduleId: string, sign: 1 | -1): Promise<TenantShare | null> {
  const row = await sql.first<
    TimingRow & ResourceColumns & { tenant_id: string; paused: boolean; deleted: boolean }
  >(
    `SELECT s.tenant_id, s.paused, s.deleted_at IS NOT NULL AS deleted, j.memory_mb, j.memory_request_mb,
       s.kind, s.cron, s.timezone, s.interval_ms, s.anchor_at, s.start_at, s.end_at
     FROM schedules s JOIN jobs j ON j.id = s.job_id WHERE s.id = $1`,
    [scheduleId],
  );
  if (row === undefined) return null;
  const share = forecastShareOf(timingOfRow(row), row, resourcesOf(row));
  return share === null ? null : { tenantId: row.tenant_id, share, sign };
}

/** The shares of a job's counted schedules, grouped by timing; read while they are locked. */
async function sharesOfJob(
  sql: Sql,
  tenantId: string,
  jobId: string,
): Promise<{ timing: ForecastTiming; schedules: number }[]> {
  const rows = await sql.rows<TimingRow & { n: number }>(
    `SELECT ${FORECAST_TIMING_COLUMNS}, COUNT(*)::bigint AS n FROM schedules
     WHERE tenant_id = $1 AND job_id = $2 AND deleted_at IS NULL AND NOT paused
     GROUP BY ${FORECAST_TIMING_COLUMNS}`,
    [tenantId, jobId],
  );
  return rows.map((row) => ({ timing: timingOfRow(row), schedules: Number(row.n) }));
}

/** What a job's counted schedules add, to take away when they are deleted with it. */
export async function sharesOfDeletedJob(sql: Sql, tenantId: string, jobId: string): Promise<TenantShare[]> {
  const job = await sql.first<ResourceColumns>(
    'SELECT memory_mb, memory_request_mb FROM jobs WHERE id = $1',
    [jobId],
  );
  if (job === undefined) return [];
  const shares: TenantShare[] = [];
  for (const { timing, schedules } of await sharesOfJob(sql, tenantId, jobId)) {
    const share = forecastShareOf(timing, { paused: false, deleted: false }, resourcesOf(job), schedules);
    if (share !== null) shares.push({ tenantId, share, sign: -1 });
  }
  return shares;
}

/** In the caller's transaction, under the change counter's lock: adds the shares (netted by key). */
export async function applyShares(sql: Sql, shares: readonly (TenantShare | null)[]): Promise<void> {
  const net = new Map<string, { tenantId: string; share: ForecastShare }>();
  for (const item of shares) {
    if (item === null) continue;
    const id = `${item.tenantId}\n${item.share.key}`;
    const seen = net.get(id);
    const schedules = item.sign * item.share.schedules;
    const memoryMb = item.sign * item.share.memoryMb;
    if (seen === undefined)
      net.set(id, { tenantId: item.tenantId, share: { ...item.share, schedules, memoryMb } });
    else {
      seen.share.schedules += schedules;
      seen.share.memoryMb += memoryMb;
    }
  }
  const changed = [...net.values()].filter(({ share }) => share.schedules !== 0 || share.memoryMb !== 0);
  if (changed.length === 0) return;
  const columns = changed.map(({ tenantId, share }) => [
    tenantId,
    share.key,
    ...timingColumns(share.timing),
    share.schedules,
    share.memoryMb,
  ]);
  await sql.changes(
    `INSERT INTO forecast_load (tenant_id, spec_key, ${FORECAST_TIMING_COLUMNS}, schedules, memory_mb)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
       $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[])
     ON CONFLICT (tenant_id, spec_key) DO UPDATE SET schedules = forecast_load.schedules + EXCLUDED.schedules,
       memory_mb = forecast_load.memory_mb + EXCLUDED.memory_mb`,
    Array.from({ length: 11 }, (_, i) => columns.map((row) => row[i] ?? null)),
  );
  const emptied = changed.filter(({ share }) => share.schedules < 0);
  if (emptied.length > 0) {
    await sql.changes(
      `DELETE FROM forecast_load f USING unnest($1::text[], $2::text[]) AS e (tenant_id, spec_key)
       WHERE f.tenant_id = e.tenant_id AND f.spec_key = e.spec_key AND f.schedules <= 0`,
      [emptied.map((item) => item.tenantId), emptied.map((item) => item.share.key)],
    );
  }
}

/**
 * In the caller's transaction, after the job row's update: a change of its memory request moves what its
 * schedules add. Takes the change counter's lock first (see the header).
 */
export async function moveJobMemory(
  sql: Sql,
  tenantId: string,
  jobId: string,
  before: JobResources,
  after: JobResources,
): Promise<void> {
  if (memoryRequestOf(before) === memoryRequestOf(after)) return; // a rename, a new image…
  await sql.first('SELECT seq FROM schedule_change_counter FOR UPDATE');
  const shares: TenantShare[] = [];
  for (const { timing, schedules } of await sharesOfJob(sql, tenantId, jobId)) {
    const share = memoryChangeShare(timing, schedules, before, after);
    if (share !== null) shares.push({ tenantId, share, sign: 1 });
  }
  await applyShares(sql, shares);
}

/** Whether a schedule change was made without the counts (see the header). */
export async function countsAreStale(sql: Sql): Promise<boolean> {
  const row = await sql.first<{ stale: boolean }>(
    'SELECT counted_seq IS DISTINCT FROM seq AS stale FROM schedule_change_counter',
  );
  return row?.stale ?? false;
}

/** In a transaction: rebuilds the counts if they are still stale once the change counter is locked. */
export async function rebuildStaleCounts(sql: Sql): Promise<void> {
  await sql.first('SELECT seq FROM schedule_change_counter FOR UPDATE');
  if (await countsAreStale(sql)) await backfillForecastLoad(sql);
}

/**
 * In a transaction (the migration's, or a rebuild's): the counts afresh from every counted schedule, under
 * the change counter's lock, so that no schedule change runs meanwhile; then current with its value.
 */
export async function backfillForecastLoad(sql: Sql): Promise<void> {
  await sql.first('SELECT seq FROM schedule_change_counter FOR UPDATE');
  await sql.changes('DELETE FROM forecast_load');
  const rows = await sql.rows<TimingRow & ResourceColumns & { tenant_id: string; n: number }>(
    `SELECT s.tenant_id, j.memory_mb, j.memory_request_mb,
       s.kind, s.cron, s.timezone, s.interval_ms, s.anchor_at, s.start_at, s.end_at, COUNT(*)::bigint AS n
     FROM schedules s JOIN jobs j ON j.id = s.job_id
     WHERE s.deleted_at IS NULL AND NOT s.paused
     GROUP BY s.tenant_id, s.job_id, j.memory_mb, j.memory_request_mb,
       s.kind, s.cron, s.timezone, s.interval_ms, s.anchor_at, s.start_at, s.end_at`,
  );
  const shares = rows.map((row) => {
    const share = forecastShareOf(
      timingOfRow(row),
      { paused: false, deleted: false },
      resourcesOf(row),
      row.n,
    );
    return share === null ? null : { tenantId: row.tenant_id, share, sign: 1 as const };
  });
  const CHUNK = 10_000;
  for (let i = 0; i < shares.length; i += CHUNK) await applyShares(sql, shares.slice(i, i + CHUNK));
  await sql.changes('UPDATE schedule_change_counter SET counted_seq = seq');
}
