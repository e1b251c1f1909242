// The webhook deliverer end to end below the API, on every store in STORE_FACTORIES and a real receiver on
// 127.0.0.1 (on the client's allow-list): each request verifies with the standardwebhooks reference
// implementation and carries the run as the API renders it; a receiver answering 500 three times gets the
// delivery on the 4th attempt with the same webhook-id, after the backoff; 410 disables the webhook; 429's
// Retry-After is waited for; attempts run out into `failed`; a silent endpoint times out.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Webhook as Verifier } from 'standardwebhooks';
import { WebhookHttpClient } from '../../src/adapters/http/webhook-http-client.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import { renderRun } from '../../src/api/render.js';
import type { Job } from '../../src/core/job.js';
import type { Webhook, WebhookDelivery } from '../../src/core/webhook.js';
import type { Store } from '../../src/ports/store.js';
import { WebhookDeliverer } from '../../src/services/webhooks/webhook-deliverer.js';
import { attemptResult, id, seedJob, seedRunning, tick } from '../contract/store-fixtures.js';
import { STORE_FACTORIES } from '../support/store-factories.js';
import { WebhookReceiver, type Answer } from '../support/webhook-receiver.js';
import { silentLogger } from '../support/worker-fixtures.js';

const BACKOFF_MS = 150;
const SECRET = `whsec_${Buffer.from('a test secret of 32 bytes, long!').toString('base64')}`;

interface World {
  store: Store;
  job: Job;
  receiver: WebhookReceiver;
  webhook: Webhook;
  deliverer: WebhookDeliverer;
}

async function finishRun(store: Store, job: Job, outcome: 'succeeded' | 'failed' = 'succeeded') {
  const run = await seedRunning(store, job);
  assert.equal(
    await store.finishAttempt(attemptResult(run, { outcome, exitCode: outcome === 'succeeded' ? 0 : 1 })),
    'finished',
  );
  return run;
}

async function deliveries(w: World): Promise<WebhookDelivery[]> {
  return (await w.store.listDeliveries(w.job.tenantId, w.webhook.id, 100))?.items ?? [];
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const factory of STORE_FACTORIES) {
  describe(`webhook delivery (${factory.name})`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    async function world(
      script: Answer[],
      options: { attempts?: number; timeoutMs?: number } = {},
    ): Promise<World> {
      const location = await factory.createLocation({ migrated: true });
      const { store } = await location.open();
      const receiver = await WebhookReceiver.start(script);
      const job = await seedJob(store);
      const webhook: Webhook = {
        id: id('webhook'),
        tenantId: job.tenantId,
        url: receiver.url,
        events: ['succeeded', 'failed'],
        jobId: null,
        secret: SECRET,
        createdAt: tick(),
        disabledAt: null,
        disabledReason: null,
      };
      await store.insertWebhook(webhook, 10);
      const deliverer = new WebhookDeliverer({
        store,
        sender: new WebhookHttpClient({
          allowHosts: [receiver.hostPort],
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        }),
        clock: systemClock,
        logger: silentLogger,
        hmac: (key, message) => createHmac('sha256', key).update(message).digest(),
        renderRun,
        // The bound of every wait, drawn at its top: backoffs the test can see.
        random: () => 0.999,
        schedule: { boundsMs: new Array<number>((options.attempts ?? 5) - 1).fill(BACKOFF_MS) },
        pollIntervalMs: 20,
      });
      cleanups.push(async () => {
        await deliverer.stop();
        await receiver.stop();
        await store.close();
        await location.destroy();
      });
      return { store, job, receiver, webhook, deliverer };
    }

    it('signs each request as the reference implementation verifies, with the run as the API renders it', async () => {
      const w = await world([{ status: 204 }]);
      const run = await finishRun(w.store, w.job);
      w.deliverer.start();
      await w.receiver.waitFor(1);
      const [request] = w.receiver.received;
      assert.ok(request);
      const payload = new Verifier(SECRET).verify(request.body, w.receiver.signatureHeaders(0)) as {
        type: string;
        timestamp: string;
        data: { id: string; status: string };
      };
      const stored = await w.store.getRun(run.tenantId, run.id);
      assert.ok(stored);
      assert.equal(payload.type, 'run.succeeded');
      assert.deepEqual(payload.data, JSON.parse(JSON.stringify(renderRun(stored))));
      assert.equal(request.headers['content-type'], 'application/json');
      const [delivery] = await until(
        () => deliveries(w),
        (d) => d[0]?.status === 'succeeded',
      );
      assert.equal(request.headers['webhook-id'], delivery?.id);
      assert.deepEqual([delivery?.attempts, delivery?.lastStatusCode], [1, 204]);
      assert.equal(payload.timestamp, new Date(delivery?.createdAt ?? 0).toISOString());
    });

    it('500 three times, then the 4th attempt delivers, with one webhook-id and the backoff between', async () => {
      const w = await world([{ status: 500 }, { status: 500 }, { status: 503 }, { status: 200 }]);
      await finishRun(w.store, w.job, 'failed');
      w.deliverer.start();
      await w.receiver.waitFor(4);
      const ids = new Set(w.receiver.received.map((r) => r.headers['webhook-id']));
      assert.equal(ids.size, 1, 'the same webhook-id on every attempt');
      for (let i = 1; i < 4; i++) {
        const gap = (w.receiver.received[i]?.at ?? 0) - (w.receiver.received[i - 1]?.at ?? 0);
        assert.ok(gap >= BACKOFF_MS * 0.999 - 5, `attempt ${i + 1} came ${gap} ms after the one before`);
        new Verifier(SECRET).verify(w.receiver.received[i]?.body ?? '', w.receiver.signatureHeaders(i));
      }
      const [delivery] = await until(
        () => deliveries(w),
        (d) => d[0]?.status === 'succeeded',
      );
      assert.deepEqual([delivery?.attempts, delivery?.lastStatusCode, delivery?.event], [4, 200, 'failed']);
      await new Promise((r) => setTimeout(r, 3 * BACKOFF_MS));
      assert.equal(w.receiver.received.length, 4, 'nothing after success');
    });

    it('410 Gone disables the webhook: nothing more is sent to it', async () => {
      const w = await world([{ status: 410 }, { status: 200 }]);
      await finishRun(w.store, w.job);
      w.deliverer.start();
      await w.receiver.waitFor(1);
      const webhook = await until(
        () => w.store.getWebhook(w.job.tenantId, w.webhook.id),
        (hook) => hook?.disabledAt !== null,
      );
      assert.equal(webhook?.disabledReason, 'the endpoint answered 410 Gone');
      await finishRun(w.store, w.job);
      await new Promise((r) => setTimeout(r, 4 * BACKOFF_MS));
      assert.equal(w.receiver.received.length, 1);
      assert.deepEqual(
        (await deliveries(w)).map((d) => [d.status, d.lastStatusCode]),
        [['disabled', 410]],
      );
    });

    it('429 with Retry-After waits that long, not the backoff', async () => {
      const w = await world([{ status: 429, headers: { 'retry-after': '1' } }, { status: 200 }]);
      await finishRun(w.store, w.job);
      w.deliverer.start();
      await w.receiver.waitFor(2);
      const gap = (w.receiver.received[1]?.at ?? 0) - (w.receiver.received[0]?.at ?? 0);
      assert.ok(gap >= 990, `retried ${gap} ms later`);
      const [delivery] = await until(
        () => deliveries(w),
        (d) => d[0]?.status === 'succeeded',
      );
      assert.equal(delivery?.attempts, 2);
    });

    it('fails once the attempts run out, and redirects are not followed', async () => {
      const w = await world([{ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } }], {
        attempts: 3,
      });
      await finishRun(w.store, w.job);
      w.deliverer.start();
      const [delivery] = await until(
        () => deliveries(w),
        (d) => d[0]?.status === 'failed',
      );
      assert.deepEqual(
        [delivery?.attempts, delivery?.lastStatusCode, delivery?.lastError, delivery?.nextAttemptAt],
        [3, 302, 'the endpoint answered 302', null],
      );
      assert.equal(w.receiver.received.length, 3);
    });

    it('an endpoint that never answers times out, and the attempt is retried', async () => {
      const w = await world([() => undefined, { status: 200 }], { timeoutMs: 300 });
      await finishRun(w.store, w.job);
      w.deliverer.start();
      const [delivery] = await until(
        () => deliveries(w),
        (d) => d[0]?.status === 'succeeded',
      );
      assert.equal(delivery?.attempts, 2);
      assert.equal(w.receiver.received.length, 2);
    });

    it('reads only the first few KB of an answer: an endless body does not hold the attempt', async () => {
      const endless = (res: import('node:http').ServerResponse) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = 'x'.repeat(64 * 1024);
        const timer = setInterval(() => res.write(chunk), 10);
        res.on('close', () => clearInterval(timer));
      };
      const w = await world([endless], { timeoutMs: 10_000 });
      await finishRun(w.store, w.job);
      const started = Date.now();
      w.deliverer.start();
      const [delivery] = await until(
        () => deliveries(w),
        (d) => d[0]?.status === 'succeeded',
      );
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      assert.deepEqual([delivery?.attempts, delivery?.lastStatusCode], [1, 200]);
    });
  });
}
