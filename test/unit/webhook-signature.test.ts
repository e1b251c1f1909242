// Our Standard Webhooks signer against the spec's reference implementation (the standardwebhooks package):
// the same signature for fixed inputs, and headers it verifies; a changed body, id or timestamp fails.

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { secretKey, signWebhook } from '../../src/core/webhook-signature.js';

const hmac = (key: Uint8Array, message: string) => createHmac('sha256', key).update(message).digest();
// The secret of the spec's own example.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('webhook signature (Standard Webhooks)', () => {
  it('matches the reference implementation for fixed inputs', () => {
    const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
    const timestamp = 1614265330;
    const body = '{"test": 2432232314}';
    const ours = signWebhook(SECRET, id, timestamp, body, hmac);
    const reference = new Webhook(SECRET).sign(id, new Date(timestamp * 1000), body);
    assert.equal(ours['webhook-signature'], reference);
    // The spec's published example signature for these inputs.
    assert.equal(ours['webhook-signature'], 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    assert.deepEqual([ours['webhook-id'], ours['webhook-timestamp']], [id, String(timestamp)]);
  });

  it('is verified by the reference implementation, and a tampered request is not', () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const body = JSON.stringify({ type: 'run.succeeded', data: { id: 'run_1' } });
    const now = Math.floor(Date.now() / 1000);
    const headers = signWebhook(secret, 'msg_abc', now, body, hmac);
    const verifier = new Webhook(secret);
    assert.deepEqual(verifier.verify(body, { ...headers }), JSON.parse(body));
    assert.throws(() => verifier.verify(`${body} `, { ...headers }));
    assert.throws(() => verifier.verify(body, { ...headers, 'webhook-id': 'msg_abd' }));
    assert.throws(() => verifier.verify(body, { ...headers, 'webhook-timestamp': String(now + 1) }));
    assert.throws(() =>
      new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(body, { ...headers }),
    );
  });

  it('keys the HMAC with the decoded secret after whsec_', () => {
    assert.deepEqual(Buffer.from(secretKey('whsec_AAEC')), Buffer.from([0, 1, 2]));
    assert.throws(() => secretKey('AAEC'));
  });
});
