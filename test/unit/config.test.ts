import assert from 'node:assert/strict';
import { join } from 'node:path';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, resolveConfig } from '../../src/server/config.js';
import { DEFAULT_RUN_SERVICE_OPTIONS } from '../../src/services/run-service.js';

describe('resolveConfig', () => {
  it('gives the documented defaults with no flags and no environment', () => {
    const config = resolveConfig({ flags: {}, env: {} });
    assert.equal(config.port, 7420);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.dataDir, resolve('.hourglass'));
    assert.deepEqual(config.roles, ['api', 'worker', 'scheduler']);
    assert.equal(config.adminKey, null);
    assert.equal(config.worker.maxRuns, 64);
    assert.equal(config.worker.heartbeatIntervalMs, 2000);
    assert.equal(config.worker.killGraceMs, 10_000);
    assert.equal(config.worker.logMaxBytes, 10 * 1024 * 1024);
    assert.equal(config.worker.runUidBase, 2_000_000_000);
    assert.equal(config.scheduler.leadMs, 800);
    // A run service built without the server's options hands future runs over with the same lead.
    assert.equal(DEFAULT_RUN_SERVICE_OPTIONS.preDispatchLeadMs, config.scheduler.leadMs);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.worker));
  });

  it('gives the container defaults, and reads the insecure registries as host:port', () => {
    const defaults = resolveConfig({ flags: {}, env: {} }).container;
    assert.equal(defaults.runtimePath, 'runc');
    assert.match(defaults.dir, /^\/var\/lib\/hourglass\/containers-[0-9a-f]{12}$/);
    assert.equal(defaults.imageCacheDir, `${defaults.dir}/images`);
    // One per data directory: two servers on a host never share containers.
    assert.notEqual(
      resolveConfig({ flags: { 'data-dir': '/srv/other' }, env: {} }).container.dir,
      defaults.dir,
    );
    assert.equal(defaults.maxImageMb, 1024);
    assert.equal(defaults.imageTagTtlMs, 10_000);
    assert.equal(defaults.warmContainers, 2);
    assert.equal(resolveConfig({ flags: { 'warm-containers': '0' }, env: {} }).container.warmContainers, 0);
    assert.equal(
      resolveConfig({ flags: {}, env: { HOURGLASS_IMAGE_TAG_TTL_MS: '0' } }).container.imageTagTtlMs,
      0,
    );
    assert.throws(
      () => resolveConfig({ flags: { 'image-tag-ttl-ms': '-1' }, env: {} }),
      /--image-tag-ttl-ms \/ HOURGLASS_IMAGE_TAG_TTL_MS must be an integer from 0 to 3600000, got "-1"/,
    );
    assert.deepEqual(defaults.insecureRegistries, []);
    const set = resolveConfig({
      flags: { 'runtime-path': '/opt/runc/bin/runc' },
      env: { HOURGLASS_INSECURE_REGISTRIES: ' 127.0.0.1:5000, Registry.Local:443 ,' },
    }).container;
    assert.equal(set.runtimePath, '/opt/runc/bin/runc');
    assert.deepEqual(set.insecureRegistries, ['127.0.0.1:5000', 'registry.local:443']);
    assert.throws(
      () => resolveConfig({ flags: {}, env: { HOURGLASS_INSECURE_REGISTRIES: 'registry.local' } }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /HOURGLASS_INSECURE_REGISTRIES: "registry.local" is not host:port/.test(error.message),
    );
  });

  it('reads HOURGLASS_WEBHOOK_ALLOW_HOSTS: exact host:ports, lower case, frozen; refuses anything else', () => {
    assert.deepEqual(resolveConfig({ flags: {}, env: {} }).webhooks.allowHosts, []);
    const set = resolveConfig({
      flags: {},
      env: { HOURGLASS_WEBHOOK_ALLOW_HOSTS: ' 127.0.0.1:8080, Hooks.Internal:443 ,[::1]:9000' },
    }).webhooks;
    assert.deepEqual(set.allowHosts, ['127.0.0.1:8080', 'hooks.internal:443', '[::1]:9000']);
    assert.ok(Object.isFrozen(set) && Object.isFrozen(set.allowHosts));
    for (const bad of ['hooks.internal', 'http://a:80', 'a:0', 'a:70000', '*:80', 'a:80/x', '::1:80']) {
      assert.throws(
        () => resolveConfig({ flags: {}, env: { HOURGLASS_WEBHOOK_ALLOW_HOSTS: bad } }),
        (error: unknown) =>
          error instanceof ConfigError &&
          /^HOURGLASS_WEBHOOK_ALLOW_HOSTS: .* is not host:port/.test(error.message),
        bad,
      );
    }
  });

  it('reads --store and --queue, refusing what they cannot be and roles that could not share them', () => {
    const defaults = resolveConfig({ flags: { 'data-dir': '/srv/hg' }, env: {} });
    assert.deepEqual(defaults.store, { kind: 'sqlite', path: '/srv/hg/hourglass.db' });
    assert.deepEqual(defaults.queue, { kind: 'memory' });
    const distributed = resolveConfig({
      flags: { roles: 'worker' },
      env: {
        HOURGLASS_STORE: 'postgres://hourglass@db.internal:5432/hourglass',
        HOURGLASS_QUEUE: 'nats://a:4222, nats://b:4222',
      },
    });
    assert.deepEqual(distributed.store, {
      kind: 'postgres',
      url: 'postgres://hourglass@db.internal:5432/hourglass',
    });
    assert.deepEqual(distributed.queue, {
      kind: 'nats',
      servers: ['nats://a:4222', 'nats://b:4222'],
      namespace: 'hourglass',
    });
    assert.deepEqual(resolveConfig({ flags: { store: 'sqlite:rel/x.db' }, env: {} }).store, {
      kind: 'sqlite',
      path: join(process.cwd(), 'rel/x.db'),
    });
    const refused: [Record<string, string>, RegExp][] = [
      [{ store: 'mysql://x' }, /--store \/ HOURGLASS_STORE must be sqlite:PATH or postgres:/],
      [{ store: 'sqlite:' }, /sqlite: needs a path/],
      [{ queue: 'redis://x' }, /--queue \/ HOURGLASS_QUEUE must be memory or nats:/],
      [{ queue: 'nats://a:4222,' }, /--queue/],
      [{ roles: 'worker' }, /with the in-process queue the api role must be in the process/],
      [{ roles: 'api', store: 'postgres://h/db' }, /needs a shared queue too/],
      [{ queue: 'nats://a:4222', 'nats-namespace': 'Bad.Name' }, /--nats-namespace/],
    ];
    for (const [flags, message] of refused)
      assert.throws(() => resolveConfig({ flags, env: {} }), message, JSON.stringify(flags));
  });

  it('takes flags over the environment, and empty variables as unset', () => {
    const config = resolveConfig({
      flags: { port: '9000' },
      env: { HOURGLASS_PORT: '8000', HOURGLASS_HOST: '0.0.0.0', HOURGLASS_ADMIN_KEY: '' },
    });
    assert.equal(config.port, 9000);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.adminKey, null);
  });

  it('names the bad setting', () => {
    assert.throws(() => resolveConfig({ flags: { port: 'x' }, env: {} }), /--port \/ HOURGLASS_PORT/);
    assert.throws(
      () => resolveConfig({ flags: {}, env: { HOURGLASS_ROLES: 'api,cook' } }),
      /unknown role "cook"/,
    );
    assert.throws(() => resolveConfig({ flags: { roles: 'worker' }, env: {} }), ConfigError);
    assert.throws(
      () => resolveConfig({ flags: {}, env: { HOURGLASS_ADMIN_KEY: 'short' } }),
      /HOURGLASS_ADMIN_KEY is too weak/,
    );
    // A run uid range must not start among the host's own users, nor run past the last valid uid.
    for (const base of ['0', '999', '4294967000']) {
      assert.throws(() => resolveConfig({ flags: { 'run-uid-base': base }, env: {} }), /--run-uid-base/);
    }
    assert.equal(
      resolveConfig({ flags: {}, env: { HOURGLASS_RUN_UID_BASE: '3000000' } }).worker.runUidBase,
      3_000_000,
    );
  });

  it('caps log follow streams at 50 per tenant and 1,000 in all unless configured', () => {
    assert.deepEqual(resolveConfig({ flags: {}, env: {} }).logFollows, { perTenant: 50, total: 1000 });
    const config = resolveConfig({
      flags: { 'max-log-follows': '20' },
      env: { HOURGLASS_MAX_LOG_FOLLOWS: '30', HOURGLASS_MAX_LOG_FOLLOWS_PER_TENANT: '5' },
    });
    assert.deepEqual(config.logFollows, { perTenant: 5, total: 20 });
    assert.ok(Object.isFrozen(config.logFollows));
    assert.throws(
      () => resolveConfig({ flags: { 'max-log-follows-per-tenant': '0' }, env: {} }),
      /--max-log-follows-per-tenant \/ HOURGLASS_MAX_LOG_FOLLOWS_PER_TENANT must be an integer from 1/,
    );
  });

  it('serves a metrics port only when --metrics-port or HOURGLASS_METRICS_PORT names one', () => {
    const distributed = { HOURGLASS_STORE: 'postgres://db/hg', HOURGLASS_QUEUE: 'nats://n:4222' };
    assert.equal(resolveConfig({ flags: {}, env: {} }).metricsPort, null);
    assert.equal(resolveConfig({ flags: {}, env: { HOURGLASS_METRICS_PORT: '' } }).metricsPort, null);
    assert.equal(resolveConfig({ flags: {}, env: { HOURGLASS_METRICS_PORT: '9464' } }).metricsPort, 9464);
    assert.equal(
      resolveConfig({ flags: { 'metrics-port': '0' }, env: { HOURGLASS_METRICS_PORT: '9464' } }).metricsPort,
      0,
    );
    // A process without the API may take any port, its --port unused.
    assert.equal(
      resolveConfig({ flags: { roles: 'worker', port: '9464', 'metrics-port': '9464' }, env: distributed })
        .metricsPort,
      9464,
    );
    for (const bad of ['-1', '65536', '94.5', 'http']) {
      assert.throws(
        () => resolveConfig({ flags: { 'metrics-port': bad }, env: {} }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.message ===
            `--metrics-port / HOURGLASS_METRICS_PORT must be an integer from 0 to 65535, got ${JSON.stringify(bad)}`,
        bad,
      );
    }
    assert.throws(
      () => resolveConfig({ flags: { port: '7420' }, env: { HOURGLASS_METRICS_PORT: '7420' } }),
      /--metrics-port \/ HOURGLASS_METRICS_PORT must differ from --port \(both 7420\)/,
    );
    // Both 0: two free ports, chosen apart.
    assert.equal(resolveConfig({ flags: { port: '0', 'metrics-port': '0' }, env: {} }).metricsPort, 0);
  });
});
