// Webhooks through the real server: create (the secret once), get/list never with it, delete; each field's
// 400 (and nothing created); another tenant's webhook ids are 404 on every route and its runs never reach
// another tenant's webhook; an admin key is 403; the 11th webhook is 422. A run's outcome reaches a receiver
// on 127.0.0.1 (allowed by HOURGLASS_WEBHOOK_ALLOW_HOSTS) signed as the standardwebhooks package verifies,
// and the deliveries list shows it with the webhook-id it carried.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook as Verifier } from 'standardwebhooks';
import { ServerProcess, type TestTenant } from '../support/server-process.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('webhooks API', () => {
  let server: ServerProcess;
  let receiver: WebhookReceiver;
  let alice: TestTenant;
  let bob: TestTenant;
  let aliceHook: { id: string; secret: string };
  const answers: string[] = [];

  const call = async (who: TestTenant | string, method: string, path: string, body?: unknown) => {
    const key = typeof who === 'string' ? who : who.key;
    const res = await server.request(method, path, { key, body });
    answers.push(res.text);
    return res;
  };

  const runJob = async (who: TestTenant, name: string) => {
    const job = await server.create(who.key, '/v1/jobs', { name, command: ['sh', '-c', 'exit 0'] });
    const run = await server.create(who.key, `/v1/jobs/${job.id}/runs`, {});
    await server.waitForRun(who.key, run.id);
    return { job, run };
  };

  before(async () => {
    receiver = await WebhookReceiver.start([{ status: 200 }]);
    server = await ServerProcess.start({ env: { HOURGLASS_WEBHOOK_ALLOW_HOSTS: receiver.hostPort } });
    alice = await server.createTenant('alice');
    bob = await server.createTenant('bob');
  });
  after(async () => {
    await server.stop({ cleanup: true });
    await receiver.stop();
  });

  it('creates a webhook (201) with its secret, shown there only', async () => {
    const res = await call(alice, 'POST', '/v1/webhooks', {
      url: receiver.url,
      events: ['succeeded', 'failed'],
    });
    assert.equal(res.status, 201, res.text);
    const { secret, ...shown } = res.body;
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.ok(Buffer.from(secret.slice(6), 'base64').length >= 24);
    assert.match(shown.id, /^whk_/);
    assert.deepEqual(
      [shown.url, shown.events, shown.jobId, shown.disabled, shown.disabledReason],
      [receiver.url, ['succeeded', 'failed'], null, false, null],
    );
    aliceHook = { id: shown.id, secret };
    const got = await call(alice, 'GET', `/v1/webhooks/${shown.id}`);
    assert.deepEqual(got.body, shown);
    const list = await call(alice, 'GET', '/v1/webhooks');
    assert.deepEqual(list.body, { items: [shown], nextCursor: null });
    for (const text of [got.text, list.text])
      assert.ok(!text.includes(secret.slice(6)), 'no secret after create');
  });

  it('delivers a run outcome signed as the reference implementation verifies', async () => {
    const { run } = await runJob(alice, 'hooked');
    await receiver.waitFor(1);
    const request = receiver.received[0];
    assert.ok(request);
    const payload = new Verifier(aliceHook.secret).verify(request.body, receiver.signatureHeaders(0)) as {
      type: string;
      data: { id: string; status: string };
    };
    assert.deepEqual(
      [payload.type, payload.data.id, payload.data.status],
      ['run.succeeded', run.id, 'succeeded'],
    );
    const deliveries = await until(
      () => call(alice, 'GET', `/v1/webhooks/${aliceHook.id}/deliveries`),
      (res) => res.body.items[0]?.status === 'succeeded',
    );
    const [delivery] = deliveries.body.items;
    assert.deepEqual(
      [delivery.id, delivery.runId, delivery.event, delivery.attempts, delivery.lastStatusCode],
      [request.headers['webhook-id'], run.id, 'run.succeeded', 1, 200],
    );
    assert.ok(delivery.deliveredAt);
    const metrics = await server.request('GET', '/metrics');
    assert.match(metrics.text, /^hourglass_webhook_attempts_total\{outcome="succeeded"\} 1$/m);
  });

  it('refuses each bad field with a 400 naming it, and creates nothing', async () => {
    const good = { url: 'https://hooks.example.com/x', events: ['failed'] };
    const cases: [unknown, string][] = [
      [{ ...good, url: 'ftp://example.com/' }, 'url'],
      [{ ...good, url: '/relative' }, 'url'],
      [{ ...good, url: 'https://user:pw@example.com/' }, 'url'],
      [{ ...good, url: `https://example.com/${'a'.repeat(2000)}` }, 'url'],
      [{ ...good, url: 'http://127.0.0.1:1/hook' }, 'url'],
      [{ ...good, url: 'http://localhost/hook' }, 'url'],
      [{ ...good, url: 'http://169.254.169.254/latest/meta-data/' }, 'url'],
      [{ ...good, url: 'http://10.1.2.3/' }, 'url'],
      [{ ...good, url: 'http://[::1]/' }, 'url'],
      [{ ...good, url: 'http://[::ffff:127.0.0.1]/' }, 'url'],
      [{ ...good, url: 42 }, 'url'],
      [{ events: ['failed'] }, 'url'],
      [{ ...good, events: [] }, 'events'],
      [{ ...good, events: ['queued'] }, 'events'],
      [{ ...good, events: ['failed', 'failed'] }, 'events'],
      [{ ...good, events: 'failed' }, 'events'],
      [{ url: good.url }, 'events'],
      [{ ...good, jobId: '' }, 'jobId'],
      [{ ...good, secret: 'whsec_mine' }, 'secret'],
    ];
    for (const [body, field] of cases) {
      const res = await call(alice, 'POST', '/v1/webhooks', body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.equal(res.body.field, field, `${JSON.stringify(body)}: ${res.text}`);
    }
    const missing = await call(alice, 'POST', '/v1/webhooks', { ...good, jobId: 'no-such-job' });
    assert.deepEqual([missing.status, missing.body.field], [404, 'jobId']);
    const list = await call(alice, 'GET', '/v1/webhooks');
    assert.equal(list.body.items.length, 1, 'nothing was created');
  });

  it("keeps tenants apart: another tenant's webhook is 404 everywhere, and its runs never reach it", async () => {
    const bobJob = await server.create(bob.key, '/v1/jobs', {
      name: 'bobs',
      command: ['sh', '-c', 'exit 0'],
    });
    const foreignJob = await call(alice, 'POST', '/v1/webhooks', {
      url: receiver.url,
      events: ['failed'],
      jobId: bobJob.id,
    });
    assert.deepEqual([foreignJob.status, foreignJob.body.field], [404, 'jobId']);
    for (const [method, path] of [
      ['GET', `/v1/webhooks/${aliceHook.id}`],
      ['DELETE', `/v1/webhooks/${aliceHook.id}`],
      ['GET', `/v1/webhooks/${aliceHook.id}/deliveries`],
    ] as const) {
      const res = await call(bob, method, path);
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
    }
    assert.deepEqual((await call(bob, 'GET', '/v1/webhooks')).body.items, []);
    const before = receiver.received.length;
    const run = await server.create(bob.key, `/v1/jobs/${bobJob.id}/runs`, {});
    await server.waitForRun(bob.key, run.id);
    await new Promise((r) => setTimeout(r, 2500)); // more than a poll of the deliverer
    assert.equal(receiver.received.length, before, "bob's run went to no webhook of alice's");
    assert.ok((await call(alice, 'GET', `/v1/webhooks/${aliceHook.id}`)).status === 200, 'still there');
  });

  it('answers an admin key 403', async () => {
    for (const [method, path] of [
      ['GET', '/v1/webhooks'],
      ['POST', '/v1/webhooks'],
    ] as const) {
      const res = await call(
        server.adminKey,
        method,
        path,
        method === 'POST' ? { url: 'https://a.example/', events: ['failed'] } : undefined,
      );
      assert.equal(res.status, 403, res.text);
    }
  });

  it('caps webhooks per tenant: the 11th is 422, naming maxWebhooks; a deleted one makes room', async () => {
    const carol = await server.createTenant('carol');
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await call(carol, 'POST', '/v1/webhooks', {
        url: `https://h${i}.example.com/`,
        events: ['failed'],
      });
      assert.equal(res.status, 201, res.text);
      ids.push(res.body.id);
    }
    const over = await call(carol, 'POST', '/v1/webhooks', {
      url: 'https://h10.example.com/',
      events: ['failed'],
    });
    assert.deepEqual([over.status, over.body.code], [422, 'plan_limit_exceeded']);
    assert.match(over.body.detail, /maxWebhooks/);
    const page1 = await call(carol, 'GET', '/v1/webhooks?limit=4');
    assert.deepEqual(
      page1.body.items.map((w: { id: string }) => w.id),
      ids.slice(0, 4),
    );
    const page2 = await call(carol, 'GET', `/v1/webhooks?limit=100&cursor=${page1.body.nextCursor}`);
    assert.equal(page2.body.items.length, 6);
    assert.equal((await call(carol, 'DELETE', `/v1/webhooks/${ids[0]}`)).status, 204);
    assert.equal((await call(carol, 'GET', `/v1/webhooks/${ids[0]}`)).status, 404);
    assert.equal((await call(carol, 'DELETE', `/v1/webhooks/${ids[0]}`)).status, 404);
    const again = await call(carol, 'POST', '/v1/webhooks', {
      url: 'https://h10.example.com/',
      events: ['failed'],
    });
    assert.equal(again.status, 201);
  });

  it('never answers the secret again, anywhere', () => {
    const secretBody = aliceHook.secret.slice(6);
    const leaks = answers.filter((text) => text.includes(secretBody));
    assert.equal(leaks.length, 1, 'only the create answer holds it');
  });
});
