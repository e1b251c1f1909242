// The advisory locks of the PostgreSQL store, each held until its transaction ends (pg_advisory_xact_lock).
// Keys are hashed from text that names the store's schema, so two stores in one database (schemas on the
// search_path) never wait for each other; a hash collision only makes two unrelated holders take turns.
//
//   tenant/<id>        a tenant's plan limits: the count and the insert it allows happen under it, so two
//                      concurrent inserts cannot both pass a count of limit − 1 (jobs, schedules, registry
//                      logins). A lock, not a tenant row: some callers hold limits for tenants without one.
//   scheduler-leases   one lease round (or release) at a time across every scheduler node: a round reads
//                      every lease and member and writes its plan as if it were alone.

import type { Sql } from './postgres-database.js';

const keyOf = (name: string) => `hashtextextended(current_schema() || ':hourglass:' || ${name}, 0)`;

export async function lockTenantLimits(sql: Sql, tenantId: string): Promise<void> {
  await sql.rows(`SELECT pg_advisory_xact_lock(${keyOf("'tenant/' || $1")})`, [tenantId]);
}

export async function lockLeaseRound(sql: Sql): Promise<void> {
  await sql.rows(`SELECT pg_advisory_xact_lock(${keyOf("'scheduler-leases'")})`);
}
