// Sealing of registry passwords: what is sealed opens only with the same key and the same row identity
// (tenant, host, username); a flipped bit anywhere, a row moved, or another key fails, and no failure
// message carries the password. Also the registry host rules and an image reference's host.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { normalizeRegistryHost, registryHostOf } from '../../src/core/registry-host.js';
import {
  credentialsKeyId,
  openPassword,
  sealPassword,
  SecretBoxError,
} from '../../src/services/registry-secret-box.js';

const PASSWORD = `p4ss-${randomBytes(8).toString('hex')}`;
const identity = { tenantId: 'tenant_a', host: 'registry.example.com', username: 'robot' };

function fails(open: () => string, reason: 'tampered' | 'other_key'): void {
  assert.throws(open, (error: unknown) => {
    assert.ok(error instanceof SecretBoxError, String(error));
    assert.equal(error.reason, reason);
    assert.ok(!error.message.includes(PASSWORD));
    return true;
  });
}

describe('registry secret box', () => {
  const key = randomBytes(32);

  it('opens what it sealed, with a fresh nonce each time and no plaintext in the ciphertext', () => {
    const a = sealPassword(key, identity, PASSWORD);
    const b = sealPassword(key, identity, PASSWORD);
    assert.equal(openPassword(key, identity, a), PASSWORD);
    assert.notDeepEqual(a.nonce, b.nonce);
    assert.notDeepEqual(a.ciphertext, b.ciphertext);
    assert.equal(a.keyId, credentialsKeyId(key));
    assert.ok(!a.ciphertext.includes(Buffer.from(PASSWORD)));
    assert.ok(!a.keyId.includes(key.toString('hex').slice(0, 8)));
  });

  it('refuses a flipped bit in the ciphertext, the tag or the nonce', () => {
    const sealed = sealPassword(key, identity, PASSWORD);
    for (const part of ['ciphertext', 'nonce'] as const) {
      for (const index of [0, sealed[part].length - 1]) {
        const altered = Buffer.from(sealed[part]);
        altered[index] = (altered[index] ?? 0) ^ 1;
        fails(() => openPassword(key, identity, { ...sealed, [part]: altered }), 'tampered');
      }
    }
    fails(
      () => openPassword(key, identity, { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 4) }),
      'tampered',
    );
  });

  it('refuses a ciphertext moved to another tenant, host or username (the AAD)', () => {
    const sealed = sealPassword(key, identity, PASSWORD);
    for (const other of [
      { ...identity, tenantId: 'tenant_b' },
      { ...identity, host: 'registry.example.com:5000' },
      { ...identity, username: 'robot2' },
      // Fields are length-prefixed: moving a boundary between them changes the AAD.
      { ...identity, tenantId: 'tenant_aregistry.example.com', host: '' },
      { ...identity, host: 'registry.example.comrobot', username: '' },
    ]) {
      fails(() => openPassword(key, other, sealed), 'tampered');
    }
  });

  it('refuses another key: by key id, and by the cipher when the id is forged', () => {
    const sealed = sealPassword(key, identity, PASSWORD);
    const otherKey = randomBytes(32);
    fails(() => openPassword(otherKey, identity, sealed), 'other_key');
    fails(
      () => openPassword(otherKey, identity, { ...sealed, keyId: credentialsKeyId(otherKey) }),
      'tampered',
    );
    assert.throws(() => sealPassword(randomBytes(16), identity, PASSWORD), /32 bytes/);
  });
});

describe('registry hosts', () => {
  it('normalises DNS names, IP literals and ports, and folds Docker Hub’s aliases', () => {
    const cases: [string, string][] = [
      ['Registry.Example.COM', 'registry.example.com'],
      ['localhost:5000', 'localhost:5000'],
      ['10.0.0.5:5000', '10.0.0.5:5000'],
      ['[::1]:5000', '[::1]:5000'],
      ['[2001:DB8::1]', '[2001:db8::1]'],
      ['index.docker.io', 'docker.io'],
      ['ghcr.io', 'ghcr.io'],
    ];
    for (const [input, expected] of cases) assert.equal(normalizeRegistryHost(input), expected, input);
  });

  it('refuses what is not host[:port], naming the field', () => {
    const bad = [
      '',
      'https://ghcr.io',
      'ghcr.io/team',
      'ghcr.io:0',
      'ghcr.io:65536',
      'ghcr.io:',
      '-bad.example',
      'bad-.example',
      'a..b',
      'under_score.example',
      '::1',
      '[::1',
      '[1:2:3:4:5:6:7:8:9]',
      '[fe80::1%eth0]',
      'x'.repeat(300),
      'host name',
    ];
    for (const input of bad) {
      assert.throws(
        () => normalizeRegistryHost(input),
        (error: Error & { context?: { field?: string } }) => error.context?.field === 'host',
        JSON.stringify(input),
      );
    }
  });

  it('finds the registry host of an image reference as Docker does', () => {
    const cases: [string, string][] = [
      ['python:3.11', 'docker.io'],
      ['library/python', 'docker.io'],
      ['team/app:1', 'docker.io'],
      ['ghcr.io/team/app:1', 'ghcr.io'],
      ['localhost/app', 'localhost'],
      ['127.0.0.1:5000/busybox@sha256:' + 'a'.repeat(64), '127.0.0.1:5000'],
      ['Registry.Example.com:5000/app', 'registry.example.com:5000'],
      ['index.docker.io/library/python', 'docker.io'],
    ];
    for (const [reference, host] of cases) assert.equal(registryHostOf(reference), host, reference);
    assert.equal(registryHostOf('Bad Reference!'), null);
  });
});
