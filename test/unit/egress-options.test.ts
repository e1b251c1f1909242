// The egress network's options: what the constructor accepts and refuses, and the rules text it leads to.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveEgressOptions } from '../../src/adapters/container/egress-options.js';
import { egressRulesText } from '../../src/adapters/container/egress-rules.js';

describe('egress options', () => {
  it('fills the defaults', () => {
    const options = resolveEgressOptions({ prefix: 'hgw1' });
    assert.equal(options.slots, 16384);
    assert.match(options.resolvConf, /^nameserver 1\.1\.1\.1$/m);
  });

  it('refuses a prefix that could clash with another worker or overflow an interface name', () => {
    for (const prefix of ['', 'hg-1', 'HG', 'toolongname']) {
      assert.throws(() => resolveEgressOptions({ prefix }), /egress prefix/);
    }
  });

  it('refuses pools that are not blocks, are too small or overlap reserved ranges', () => {
    assert.throws(() => resolveEgressOptions({ prefix: 'a', pool: '10.213.0.1/16' }), /first of its/);
    assert.throws(() => resolveEgressOptions({ prefix: 'a', pool: '10.213.0.0/31' }), /at least one \/30/);
    assert.throws(() => resolveEgressOptions({ prefix: 'a', pool: '169.254.0.0/24' }), /reserved/);
  });

  it('allows only private blocks, never loopback or link-local', () => {
    assert.equal(
      resolveEgressOptions({ prefix: 'a', allowPrivate: ['192.168.1.0/24'] }).allowPrivate.length,
      1,
    );
    for (const block of ['127.0.0.0/8', '169.254.169.254', '8.8.8.0/24', '10.0.0.0/7']) {
      assert.throws(() => resolveEgressOptions({ prefix: 'a', allowPrivate: [block] }), /allowPrivate/);
    }
  });

  it('refuses a resolver a run could not reach', () => {
    for (const server of ['127.0.0.53', '169.254.169.253', '192.168.1.1', '::1', '10.213.0.1']) {
      assert.throws(() => resolveEgressOptions({ prefix: 'a', resolvConf: `nameserver ${server}\n` }));
    }
    const allowed = { prefix: 'a', allowPrivate: ['192.168.1.0/24'], resolvConf: 'nameserver 192.168.1.1\n' };
    assert.doesNotThrow(() => resolveEgressOptions(allowed));
  });

  it('drops the always-blocked ranges before the allowed ones are accepted, and those before private drops', () => {
    const text = egressRulesText(resolveEgressOptions({ prefix: 'w', allowPrivate: ['10.1.0.0/16'] }));
    const at = (needle: string): number => text.indexOf(needle);
    assert.ok(at('-o w-+ -j DROP') < at('-d 169.254.0.0/16 -j DROP'));
    assert.ok(at('-d 169.254.0.0/16 -j DROP') < at('-d 10.1.0.0/16 -j ACCEPT'));
    assert.ok(at('-d 10.1.0.0/16 -j ACCEPT') < at('-d 10.0.0.0/8 -j DROP'));
    assert.match(text, /-A HOURGLASS-w-IN -j DROP/);
    assert.match(text, /-A HOURGLASS-w-NAT ! -o w-\+ -j MASQUERADE/);
  });
});
