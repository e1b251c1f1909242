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
// that could apply the work twice. A connection found dead at BEGIN (an idle one the server closed, which the
// pool had not noticed yet) has done nothing, so that transaction is retried on another connection.

import pg from 'pg';
import { isConnectionError, isRetryable, translateDriverError } from './postgres-errors.js';

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

type Query = (text: string, values: unknown[]) => Promise<pg.QueryResult>;

class QueryRunner implements Sql {
  constructor(private readonly query: Query) {}

  async rows<R>(text: string, values: readonly unknown[] = []): Promise<R[]> {
    const result = await this.query(text, values as unknown[]);
    return result.rows as R[];
  }

  async first<R>(text: string, values: readonly unknown[] = []): Promise<R | undefined> {
    return (await this.rows<R>(text, values))[0];
  }

  async changes(text: string, values: readonly unknown[] = []): Promise<number> {
    const result = await this.query(text, values as unknown[]);
    return result.rowCount ?? 0;
  }
}

/**
 * A connection that dies while checked out emits 'error' on its client (once or twice), and pg-pool listens
 * only while the client is idle: without a listener of ours, a database restart would be an uncaught
 * exception. The query in flight rejects with the error anyway, so the event itself is dropped. Attached
 * once per client, for its whole life (a late second event after release is dropped too).
 */
const listened = new WeakSet<pg.PoolClient>();
const dropClientError = (): void => {};

export interface DatabaseOptions {
  connectionString: string;
  poolSize: number;
  /** Attempts of a transaction that keeps failing on serialization or deadlock, the first included. */
  maxAttempts: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** BEGIN failed on a dead connection: nothing of the transaction ran, so it may run again elsewhere. */
class DeadAtBegin extends Error {
  constructor(readonly driverError: unknown) {
    super('connection lost before the transaction began');
  }
}

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
    this.autocommitSql = new QueryRunner(async (text, values) => {
      const client = await this.checkout();
      let broken = false;
      try {
        return await client.query(text, values);
      } catch (error) {
        broken = isConnectionError(error);
        throw error;
      } finally {
        client.release(broken);
      }
    });
  }

  private async checkout(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    if (!listened.has(client)) {
      client.on('error', dropClientError);
      listened.add(client);
    }
    return client;
  }

  /** Statements each atomic on its own (a single write, or reads): no transaction around them. */
  autocommit<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    return this.withRetries(() => work(this.autocommitSql));
  }

  /** `work` in one transaction on one connection, committed if it returns, rolled back if it throws. */
  transaction<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    return this.withRetries(async () => {
      const client = await this.checkout();
      try {
        await client.query('BEGIN');
      } catch (error) {
        client.release(true);
        throw isConnectionError(error) ? new DeadAtBegin(error) : error;
      }
      let broken = false;
      try {
        const result = await work(new QueryRunner((text, values) => client.query(text, values)));
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
      client = await this.checkout();
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
        const retryable = isRetryable(error) || error instanceof DeadAtBegin;
        if (!retryable || n >= this.options.maxAttempts) {
          throw translateDriverError(error instanceof DeadAtBegin ? error.driverError : error);
        }
        // Jittered and growing, so that the two transactions that collided do not collide again.
        await sleep(Math.random() * 5 * 2 ** n);
      }
    }
  }
}
