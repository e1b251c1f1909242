// The worker hands an image job's executor the tenant's own login for the image's registry host (opened from
// the real store with the server key), nothing for another host or a host command; a login that cannot be
// opened fails the run without a retry and without the password in its reason; and the digest the executor
// reports is what the run records.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import type { ExecutionResult, ExecutionSpec, Executor } from '../../src/ports/executor.js';
import { RegistryCredentialService } from '../../src/services/registry-credentials.js';
import {
  createJob,
  submitRun,
  waitForStatus,
  withWorker,
  type WorkerWorld,
} from '../support/worker-fixtures.js';
import { SQLITE_MEMORY } from '../support/adapter-pairs.js';

const DIGEST = `sha256:${'c0'.repeat(32)}`;
const PASSWORD = `registry-pw-${randomBytes(8).toString('hex')}`;

/** A container executor that records each spec and succeeds, reporting DIGEST as what it ran. */
function recordingExecutor(specs: ExecutionSpec[]): Executor {
  return {
    runtime: 'container',
    async execute(spec, hooks): Promise<ExecutionResult> {
      specs.push(spec);
      hooks.onStarted(Date.now());
      return { outcome: 'succeeded', exitCode: 0, reason: null, imageDigest: DIGEST };
    },
  };
}

async function logIn(world: WorkerWorld, key: Buffer, host: string): Promise<RegistryCredentialService> {
  const service = new RegistryCredentialService(world.store, systemClock, key);
  await service.putLogin(world.tenant.id, host, { username: 'robot', password: PASSWORD });
  return service;
}

describe('worker: registry logins and image digests', () => {
  it('passes the tenant’s login for the image’s host, none for another host, and records the digest', async () => {
    const specs: ExecutionSpec[] = [];
    const key = randomBytes(32);
    let service: RegistryCredentialService | null = null;
    await withWorker(
      SQLITE_MEMORY,
      {
        executors: { container: recordingExecutor(specs) },
        registryCredentials: (tenantId, image) => service!.credentialsForImage(tenantId, image),
      },
      async ({ world }) => {
        service = await logIn(world, key, 'Registry.Example.com:5000');
        const privateJob = await createJob(world, { image: 'registry.example.com:5000/team/app:1' });
        const publicJob = await createJob(world, { image: 'other.example.com/app:1' });
        const first = await submitRun(world, privateJob);
        const done = await waitForStatus(world, first, 'succeeded');
        assert.equal(done.imageDigest, DIGEST);
        const second = await submitRun(world, publicJob);
        await waitForStatus(world, second, 'succeeded');
        assert.deepEqual(
          specs.map((s) => [s.runId, s.tenantId, s.registryCredentials]),
          [
            [first.id, world.tenant.id, { username: 'robot', password: PASSWORD }],
            [second.id, world.tenant.id, null],
          ],
        );
      },
    );
  });

  it('fails a run whose login cannot be opened (another server key), not retried, no password shown', async () => {
    const specs: ExecutionSpec[] = [];
    const otherKey = randomBytes(32);
    let reader: RegistryCredentialService | null = null;
    await withWorker(
      SQLITE_MEMORY,
      {
        executors: { container: recordingExecutor(specs) },
        registryCredentials: (tenantId, image) => reader!.credentialsForImage(tenantId, image),
      },
      async ({ world }) => {
        await logIn(world, randomBytes(32), 'ghcr.io');
        reader = new RegistryCredentialService(world.store, systemClock, otherKey);
        const job = await createJob(world, {
          image: 'ghcr.io/team/app:1',
          retry: { maxAttempts: 3, backoffSeconds: 0 },
        });
        const run = await submitRun(world, job);
        const failed = await waitForStatus(world, run, 'failed');
        assert.equal(failed.attempt, 1, 'retried');
        assert.match(
          failed.reason ?? '',
          /registry login for ghcr\.io cannot be used.*log in to ghcr\.io again/,
        );
        assert.ok(!(failed.reason ?? '').includes(PASSWORD));
        assert.equal(failed.imageDigest, null);
        assert.deepEqual(specs, []);
      },
    );
  });
});
