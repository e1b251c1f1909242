// No delivery is lost to a crash: the receiver fails (500 with Retry-After, so the next attempt's time is
// known), the real server is SIGKILLed once both runs' first attempts are recorded — one run ended before the
// receiver went down, one while it was down — and started again on the same data directory; both
// deliveries then arrive, with the webhook-ids they first carried, and verify.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Webhook as Verifier } from 'standardwebhooks';
import { ServerProcess } from '../support/server-process.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('webhook deliveries across a server crash', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('delivers after a SIGKILL and a restart on the same data directory', async () => {
    const receiver = await WebhookReceiver.start([{ status: 200 }]);
    cleanups.push(() => receiver.stop());
    const env = { HOURGLASS_WEBHOOK_ALLOW_HOSTS: receiver.hostPort };
    let server = await ServerProcess.start({ env });
    const dataDir = server.dataDir;
    cleanups.push(() => server.stop({ cleanup: true }));
    const tenant = await server.createTenant('crash');
    const hook = await server.create(tenant.key, '/v1/webhooks', {
      url: receiver.url,
      events: ['succeeded', 'failed'],
    });
    const job = await server.create(tenant.key, '/v1/jobs', { name: 'j', command: ['sh', '-c', 'exit 0'] });
    type Delivery = {
      id: string;
      runId: string;
      status: string;
      attempts: number;
      lastStatusCode: number | null;
    };
    const deliveries = async (): Promise<Delivery[]> => {
      const res = await server.request('GET', `/v1/webhooks/${hook.id}/deliveries`, { key: tenant.key });
      if (res.status !== 200) throw new Error(`deliveries: ${res.status} ${res.text}`);
      return res.body.items as Delivery[];
    };

    // The receiver goes down (answers 500, come back in 3 s) after the first run ended, before its delivery.
    receiver.script = [{ status: 500, headers: { 'retry-after': '3' } }];
    const first = await server.create(tenant.key, `/v1/jobs/${job.id}/runs`, {});
    await server.waitForRun(tenant.key, first.id);
    const second = await server.create(tenant.key, `/v1/jobs/${job.id}/runs`, {});
    await server.waitForRun(tenant.key, second.id);
    const failedOnce = await until(
      deliveries,
      (items) => items.length === 2 && items.every((d) => d.attempts >= 1 && d.lastStatusCode === 500),
    );
    await server.stop({ kill: true, cleanup: false });
    const attemptsBefore = receiver.received.length;
    assert.ok(attemptsBefore >= 2);

    receiver.script = [{ status: 200 }];
    server = await ServerProcess.start({ dataDir, env: { ...env, HOURGLASS_ADMIN_KEY: server.adminKey } });
    const delivered = await until(
      deliveries,
      (items) => items.every((d) => d.status === 'succeeded'),
      30_000,
    );
    assert.deepEqual(
      delivered.map((d) => d.id).sort(),
      failedOnce.map((d) => d.id).sort(),
      'the same deliveries, by their webhook-id',
    );
    assert.deepEqual(delivered.map((d) => d.runId).sort(), [first.id, second.id].sort());
    const okIds = new Set<string>();
    for (let i = attemptsBefore; i < receiver.received.length; i++) {
      const request = receiver.received[i];
      assert.ok(request);
      new Verifier(hook.secret).verify(request.body, receiver.signatureHeaders(i));
      okIds.add(String(request.headers['webhook-id']));
    }
    for (const d of delivered) assert.ok(okIds.has(d.id), `delivery ${d.id} arrived after the restart`);
  });
});
