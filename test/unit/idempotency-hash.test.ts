// The request hash stored with every run created under an Idempotency-Key. It is pinned: a stored key must keep
// matching its request after an upgrade, so changing what the hash covers, or how, must fail here first.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { hashRequest } from '../../src/services/run-service.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('idempotency request hash', () => {
  it('is the SHA-256 of [jobId, args, env entries sorted by name, runAt?], as stored keys were made', () => {
    assert.equal(
      hashRequest('job_01', {}, null),
      '9197ef645258fd8679dfbf7d58b531f53d12ab631d8e2090e28b69aa974e7ad1',
    );
    assert.equal(
      hashRequest('job_01', { args: ['a', 'b'], env: { B: '2', A: '1' } }, null),
      '5f3b5edd9b72f78b6a48678bb964dee66b42261d422da10bbcf8e2a0692ab0ee',
    );
    assert.equal(
      hashRequest(
        'job_01',
        { args: ['a', 'b'], env: { B: '2', A: '1' } },
        Date.parse('2026-12-24T17:00:00Z'),
      ),
      '5fb0bc1b242a9a565ac683881d50c7db81d2b27f9ca8d9b6972cf1a8b4ca961c',
    );
    // The same digests from the canonical text, so the pins say what they pin.
    assert.equal(
      sha256('["job_01",null,null]'),
      '9197ef645258fd8679dfbf7d58b531f53d12ab631d8e2090e28b69aa974e7ad1',
    );
    assert.equal(
      sha256('["job_01",["a","b"],[["A","1"],["B","2"]],1798131600000]'),
      '5fb0bc1b242a9a565ac683881d50c7db81d2b27f9ca8d9b6972cf1a8b4ca961c',
    );
  });

  it('covers env values, not only names, and ignores the order of env names', () => {
    const hash = (env: Record<string, string>) => hashRequest('job_01', { env }, null);
    assert.notEqual(hash({ TOKEN: 'a' }), hash({ TOKEN: 'b' }));
    assert.notEqual(hash({ A: '1', B: '2' }), hash({ A: '2', B: '1' }));
    assert.equal(hash({ A: '1', B: '2' }), hash({ B: '2', A: '1' }));
  });
});
