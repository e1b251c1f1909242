// Webhook requests never reach a non-public address unless the operator allows its host:port: the guard is
// at connect, on the address dialed (adapters/http/webhook-http-client.ts). A receiver on 127.0.0.1 proves
// for each loopback spelling that nothing arrived. Private, link-local and metadata literals are refused
// before any dial. A name resolving to loopback (localhost) is refused, and so is DNS rebinding: a resolver
// that answers a public address first and loopback on the dial — the check made at the dial catches it.
// No test here dials anything but loopback.

import assert from 'node:assert/strict';
import type { LookupFunction } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebhookHttpClient } from '../../src/adapters/http/webhook-http-client.js';
import type { AttemptAnswer } from '../../src/core/webhook-retry.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const send = (client: WebhookHttpClient, url: string): Promise<AttemptAnswer> =>
  client.send({ url, headers: { 'webhook-id': 'msg_test' }, body: '{}' });

function assertRefused(answer: AttemptAnswer, url: string): void {
  assert.equal(answer.kind, 'error', `${url} was answered: ${JSON.stringify(answer)}`);
  const message = answer.kind === 'error' ? answer.message : '';
  assert.match(message, /^refused: the address dialed is not a public one/, url);
  // The tenant reads this: it never says what the name resolved to.
  assert.doesNotMatch(message, /\d+\.\d+\.\d+\.\d+|::|localhost/, url);
}

describe('webhook SSRF guard', () => {
  let receiver: WebhookReceiver;
  let client: WebhookHttpClient;
  before(async () => {
    receiver = await WebhookReceiver.start([{ status: 200 }]);
    client = new WebhookHttpClient({ allowHosts: [], timeoutMs: 2000 });
  });
  after(async () => {
    client.close();
    await receiver.stop();
  });

  it('refuses loopback in every spelling, and the receiver gets nothing', async () => {
    const port = receiver.port;
    for (const host of ['127.0.0.1', '127.1', '2130706433', '[::1]', '[::ffff:127.0.0.1]', 'localhost']) {
      const url = `http://${host}:${port}/hook`;
      assertRefused(await send(client, url), url);
    }
    assert.equal(receiver.received.length, 0);
  });

  it('refuses private, link-local, metadata and unspecified literals before dialing', async () => {
    for (const host of [
      '10.0.0.1',
      '192.168.1.1',
      '172.16.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '[fe80::1]',
      '[fd00::1]',
    ]) {
      const url = `http://${host}:9/hook`;
      assertRefused(await send(client, url), url);
    }
  });

  it('refuses a rebinding name at the dial, though it resolved public before', async () => {
    const asked: string[] = [];
    // Public (a documentation-free real unicast address) on the first lookup, loopback on every later one.
    const rebinding = ((
      hostname: string,
      options: { all?: boolean },
      callback: (...args: unknown[]) => void,
    ) => {
      asked.push(hostname);
      const address = asked.length === 1 ? '93.184.216.34' : '127.0.0.1';
      if (options.all === true) callback(null, [{ address, family: 4 }]);
      else callback(null, address, 4);
    }) as unknown as LookupFunction;
    // What a check made before the request (at create, say) would see: a public address.
    const first = await new Promise<string>((resolve) =>
      rebinding('rebind.example', {}, (_e, address) => resolve(address as string)),
    );
    assert.equal(first, '93.184.216.34');
    const rebindingClient = new WebhookHttpClient({ allowHosts: [], lookup: rebinding, timeoutMs: 2000 });
    try {
      const url = `http://rebind.example:${receiver.port}/hook`;
      assertRefused(await send(rebindingClient, url), url);
    } finally {
      rebindingClient.close();
    }
    assert.deepEqual(asked, ['rebind.example', 'rebind.example'], 'the dial resolved the name again');
    assert.equal(receiver.received.length, 0);
  });

  it('lets exactly the allowed host:port through', async () => {
    const allowing = new WebhookHttpClient({ allowHosts: [receiver.hostPort], timeoutMs: 2000 });
    try {
      assert.deepEqual(await send(allowing, receiver.url), {
        kind: 'response',
        statusCode: 200,
        retryAfter: null,
      });
      assert.equal(receiver.received.length, 1);
      const otherPort = `http://127.0.0.1:${receiver.port === 65535 ? 65534 : receiver.port + 1}/hook`;
      assertRefused(await send(allowing, otherPort), otherPort);
      const otherName = `http://localhost:${receiver.port}/hook`;
      assertRefused(await send(allowing, otherName), otherName);
    } finally {
      allowing.close();
    }
    assert.equal(receiver.received.length, 1);
  });
});
