// Run creation's per-tenant rate limit across API processes: two `--roles api` processes on one PostgreSQL
// store (and one NATS namespace) take a tenant's tokens from the store, so together they allow the plan's
// rate, not twice it, answering the same 429 with Retry-After as one process does. One tenant at its limit
// does not limit another.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createDatabase,
  databaseUrl,
  deleteNamespaceStream,
  dropDatabase,
  POSTGRES_AVAILABLE,
} from '../support/distributed-services.js';
import { NATS_AVAILABLE, NATS_URL } from '../support/hint-factories.js';
import { skipUnless } from '../support/required-services.js';
import { ServerProcess, type TestTenant } from '../support/server-process.js';

describe(
  'run-creation rate limit across two API processes on PostgreSQL',
  { skip: skipUnless(POSTGRES_AVAILABLE && NATS_AVAILABLE, 'PostgreSQL and NATS JetStream') },
  () => {
    const suffix = randomBytes(4).toString('hex');
    const database = `hg_e2e_${suffix}`;
    const namespace = `hg-e2e-${suffix}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'hourglass-rate-limit-'));
    const apis: ServerProcess[] = [];

    const env = (): Record<string, string> => ({
      HOURGLASS_STORE: databaseUrl(database),
      HOURGLASS_QUEUE: NATS_URL,
      HOURGLASS_NATS_NAMESPACE: namespace,
    });
    const first = () => apis[0]!;
    const second = () => apis[1]!;

    before(async () => {
      await createDatabase(database);
      const one = await ServerProcess.start({ dataDir, args: ['--roles', 'api'], env: env() });
      apis.push(one);
      // One operator key for the deployment.
      const two = await ServerProcess.start({
        dataDir,
        args: ['--roles', 'api'],
        env: { ...env(), HOURGLASS_ADMIN_KEY: one.adminKey },
      });
      apis.push(two);
    });
    after(async () => {
      for (const api of apis) await api.stop({ cleanup: false });
      await dropDatabase(database).catch(() => undefined);
      await deleteNamespaceStream(namespace);
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** A tenant with a job `j` (runs nobody executes here: no worker), made through the first process. */
    async function tenantWithJob(name: string, limits: Record<string, number>): Promise<TestTenant> {
      const tenant = await first().createTenant(name, limits);
      await first().create(tenant.key, '/v1/jobs', { name: 'j', command: ['true'] });
      return tenant;
    }
    const createRun = (api: ServerProcess, tenant: TestTenant) =>
      api.request('POST', '/v1/jobs/j/runs', { key: tenant.key, body: {} });

    it('allows the plan’s rate across both processes together, not each', async (t) => {
      const perSecond = 4;
      const burst = 4;
      const tenant = await tenantWithJob('shared-rate', { runsPerSecond: perSecond, runBurst: burst });
      const tally = apis.map(() => ({ created: 0, limited: 0, retryAfter: new Set<string>() }));
      const sentAt = Date.now();
      const until = sentAt + 2_500;
      // Three clients on each process, each asking as fast as it is answered.
      await Promise.all(
        apis.flatMap((api, i) =>
          Array.from({ length: 3 }, async () => {
            while (Date.now() < until) {
              const res = await createRun(api, tenant);
              if (res.status === 201) tally[i]!.created++;
              else {
                assert.equal(res.status, 429, res.text);
                assert.equal(res.body.code, 'rate_limited');
                tally[i]!.limited++;
                tally[i]!.retryAfter.add(res.headers.get('retry-after') ?? 'none');
              }
            }
          }),
        ),
      );
      const elapsedS = (Date.now() - sentAt) / 1000;
      const created = tally.reduce((sum, side) => sum + side.created, 0);
      const bound = Math.floor(burst + perSecond * elapsedS);
      t.diagnostic(
        `created ${tally.map((side) => side.created).join(' + ')} = ${created} in ${elapsedS} s ` +
          `(at most ${bound}; each process on its own would allow up to ${2 * bound})`,
      );
      assert.ok(created <= bound, `${created} runs created in ${elapsedS} s: more than ${bound}`);
      assert.ok(created > burst, `${created}: tokens never came back at the rate`);
      for (const side of tally) {
        assert.ok(side.created > 0 && side.limited > 0, JSON.stringify({ ...side, retryAfter: 0 }));
        // A token every 250 ms: Retry-After rounds up to a whole second.
        assert.deepEqual([...side.retryAfter], ['1']);
      }
      const listed = await second().request('GET', '/v1/runs?limit=100', { key: tenant.key });
      assert.equal(listed.body.items.length, created, 'a refused request created nothing');
    });

    it('one tenant at its limit on both processes does not limit another', async () => {
      const limits = { runsPerSecond: 0.001, runBurst: 2 };
      const exhausted = await tenantWithJob('exhausted', limits);
      const statuses = [];
      for (const api of [first(), second(), first(), second()]) {
        statuses.push((await createRun(api, exhausted)).status);
      }
      // One burst for the tenant, shared: the second process does not start with a full one of its own.
      assert.deepEqual(statuses, [201, 201, 429, 429]);
      const refused = await createRun(second(), exhausted);
      assert.ok(Number(refused.headers.get('retry-after')) > 900, 'a token in about 1000 s');

      const other = await tenantWithJob('other', limits);
      assert.equal((await createRun(second(), other)).status, 201);
      assert.equal((await createRun(first(), other)).status, 201);
      assert.equal((await createRun(first(), exhausted)).status, 429, 'still limited');
    });
  },
);
