// `hourglass webhooks create|list|get|delete|deliveries` against the real server and a receiver on 127.0.0.1:
// create prints the secret (and only create does), a run's outcome shows up in deliveries, a bad event is a
// clear error naming the field, and delete removes the webhook.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli, ServerProcess, type CliResult } from '../support/server-process.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

describe('hourglass webhooks', () => {
  let server: ServerProcess;
  let receiver: WebhookReceiver;
  let env: Record<string, string>;
  let key: string;

  const cli = (args: string[]): Promise<CliResult> =>
    runCli(args, { PATH: process.env['PATH'] ?? '', ...env });

  before(async () => {
    receiver = await WebhookReceiver.start([{ status: 200 }]);
    server = await ServerProcess.start({ env: { HOURGLASS_WEBHOOK_ALLOW_HOSTS: receiver.hostPort } });
    ({ key } = await server.createTenant('cli-webhooks'));
    env = { HOURGLASS_URL: server.url, HOURGLASS_API_KEY: key };
  });
  after(async () => {
    await server.stop();
    await receiver.stop();
  });

  it('creates, shows, lists deliveries of and deletes a webhook', async () => {
    const created = await cli(['webhooks', 'create', receiver.url, '--events', 'succeeded,failed', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const hook = JSON.parse(created.stdout);
    assert.match(hook.secret, /^whsec_/);
    const table = await cli(['webhooks', 'create', 'https://h.example.com/', '--events', 'lost']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /Secret:\s+whsec_\S+\s+\(shown only now/);

    const get = await cli(['webhooks', 'get', hook.id]);
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /Events:\s+succeeded, failed/);
    assert.ok(!get.stdout.includes(hook.secret), 'get never prints the secret');
    const list = await cli(['webhooks', 'list']);
    assert.match(list.stdout, new RegExp(`^ID\\s+URL\\s+EVENTS\\s+JOB\\s+DISABLED\\n${hook.id}\\s`));

    const job = await server.create(key, '/v1/jobs', { name: 'cli-hooked', command: ['sh', '-c', 'exit 0'] });
    const run = await server.create(key, `/v1/jobs/${job.id}/runs`, {});
    await server.waitForRun(key, run.id);
    await receiver.waitFor(1);
    for (let i = 0; i < 100; i++) {
      const shown = await cli(['webhooks', 'deliveries', hook.id, '--json']);
      if (JSON.parse(shown.stdout).items[0]?.status === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const deliveries = await cli(['webhooks', 'deliveries', hook.id]);
    assert.equal(deliveries.code, 0, deliveries.stderr);
    assert.match(
      deliveries.stdout,
      new RegExp(
        `${receiver.received[0]?.headers['webhook-id']}\\s+${run.id}\\s+run\\.succeeded\\s+succeeded\\s+1\\s+200`,
      ),
    );

    const bad = await cli(['webhooks', 'create', receiver.url, '--events', 'queued']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /events/);
    const missing = await cli(['webhooks', 'create', receiver.url]);
    assert.equal(missing.code, 2);

    const removed = await cli(['webhooks', 'delete', hook.id]);
    assert.deepEqual([removed.code, removed.stdout], [0, `deleted webhook ${hook.id}\n`]);
    const gone = await cli(['webhooks', 'get', hook.id]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /not_found/);
  });
});
