// The connection pool and the one way every PostgreSQL query of the store runs: either a single statement
// (autocommit: atomic on its own) or a transaction (BEGIN … COMMIT on one pooled connection). Both retry a
// serialization failure or a deadlock a bounded number of times — the server rolled the work back whole, so
// running it again is safe — and translate driver errors at this edge (postgres-errors.ts).
//
// Transactions run at READ COMMITTED, PostgreSQL's default: each statement sees what was committed when it
// began, and an UPDATE or SELECT … FOR UPDATE/SHARE that waited for another writer re-checks its WHERE on the
// row as that writer left it. The query files rely on exactly that (conditional updates, row locks, an
// advisory lock per tenant for plan limits); none of them needs SERIALIZABLE.
//
// A connection lost during COMMIT leaves the outcome unknown: the caller gets 'unavailable', never a retry
// that could apply the work twice.

import pg from 'pg';
import { isRetryable, translateDriverError } from './postgres-errors.js';

/** What a query file runs its statements on: a transaction's connection, or the pool (autocommit). */
export interface Sql {
  rows<R>(text: string, values?: readonly unknown[]): Promise<R[]>;
  first<R>(text: string, values?: readonly unknown[]): Promise<R | undefined>;
  /** The number of rows the statement inserted, updated or deleted. */
  changes(text: string, values?: readonly unknown[]): Promise<number>;
}

const INT8_OID = 20;

/**
 * bigint columns (epoch milliseconds, counts, epochs) as numbers: every value the store keeps is far below
 * 2^53. Per pool, so that nothing else in the process that uses pg is affected.
 */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

class QueryRunner implements Sql {
  constructor(private readonly target: pg.Pool | pg.PoolClient) {}

  async rows<R>(text: string, values: readonly unknown[] = []): Promise<R[]> {
    const result = await this.target.query(text, values as unknown[]);
    return result.rows as R[];
  }

  async first<R>(text: string, values: readonly unknown[] = []): Promise<R | undefined> {
    return (await this.rows<R>(text, values))[0];
  }

  async changes(text: string, values: readonly unknown[] = []): Promise<number> {
    const result = await this.target.query(text, values as unknown[]);
    return result.rowCount ?? 0;
  }
}

export interface DatabaseOptions {
  connectionString: string;
  poolSize: number;
  /** Attempts of a transaction that keeps failing on serialization or deadlock, the first included. */
  maxAttempts: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class PostgresDatabase {
  private readonly pool: pg.Pool;
  private readonly autocommitSql: Sql;

  constructor(private readonly options: DatabaseOptions) {
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize,
      types: TYPES,
      connectionTimeoutMillis: 10_000,
    });
    // An idle connection the server closed (a restart, a failover) is dropped from the pool and reported
    // here; without a listener it would crash the process. The next query opens a new one.
    this.pool.on('error', () => {});
    this.autocommitSql = new QueryRunner(this.pool);
  }

  /** Statements each atomic on its own (a single write, or reads): no transaction around them. */
  autocommit<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    return this.withRetries(() => work(this.autocommitSql));
  }

  /** `work` in one transaction on one connection, committed if it returns, rolled back if it throws. */
  transaction<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    return this.withRetries(async () => {
      const client = await this.pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await work(new QueryRunner(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true; // the connection is gone or unusable: the pool must not hand it out again
        });
        throw error;
      } finally {
        client.release(broken);
      }
    });
  }

  /** A connection of its own for `work`, kept across transactions (partition maintenance's session lock). */
  async session<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw translateDriverError(error);
    }
    try {
      return await work(client);
    } catch (error) {
      throw translateDriverError(error);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  private async withRetries<T>(attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        if (!isRetryable(error) || n >= this.options.maxAttempts) throw translateDriverError(error);
        // Jittered and growing, so that the two transactions that collided do not collide again.
        await sleep(Math.random() * 5 * 2 ** n);
      }
    }
  }
}
