// The server's credentials key: generated 0600 in the data directory at first start and read back the same
// at the next; an operator's key file is refused unless only its owner can read it, or unless it holds 64 hex
// digits; the messages name the file, never the key.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CredentialsKeyError, loadCredentialsKey } from '../../src/server/credentials-key.js';
import { resolveConfig } from '../../src/server/config.js';
import { ServerProcess } from '../support/server-process.js';

describe('the registry credentials key', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'hourglass-credkey-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const fileWith = (name: string, content: string, mode: number): string => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode });
    chmodSync(path, mode);
    return path;
  };

  it('is generated 0600 in the data directory once, and read back the same', () => {
    const data = mkdtempSync(join(dir, 'data-'));
    const first = loadCredentialsKey(data, null);
    assert.equal(first.created, true);
    assert.equal(first.key.length, 32);
    assert.equal(statSync(first.path).mode & 0o777, 0o600);
    const second = loadCredentialsKey(data, null);
    assert.equal(second.created, false);
    assert.deepEqual(second.key, first.key);
    assert.equal(second.keyId, first.keyId);
    assert.ok(!readFileSync(first.path, 'utf8').includes(first.keyId));
  });

  it('is taken from an operator key file (0600 or 0400), which is never created', () => {
    const hex = randomBytes(32).toString('hex');
    for (const mode of [0o600, 0o400]) {
      const loaded = loadCredentialsKey(dir, fileWith(`op-${mode.toString(8)}`, `${hex}\n`, mode));
      assert.deepEqual([loaded.key.toString('hex'), loaded.created], [hex, false]);
    }
    assert.throws(() => loadCredentialsKey(dir, join(dir, 'missing')), CredentialsKeyError);
  });

  it('is refused when group or others may read it, or when it is not 64 hex digits', () => {
    const hex = randomBytes(32).toString('hex');
    for (const mode of [0o644, 0o640, 0o604]) {
      const path = fileWith(`loose-${mode.toString(8)}`, hex, mode);
      assert.throws(
        () => loadCredentialsKey(dir, path),
        (error: Error) =>
          error instanceof CredentialsKeyError &&
          error.message.includes(`mode 0${mode.toString(8)}`) &&
          !error.message.includes(hex),
      );
    }
    for (const [name, text] of [
      ['short', hex.slice(2)],
      ['not-hex', `${hex.slice(1)}z`],
      ['raw', randomBytes(32).toString('binary')],
    ] as const) {
      assert.throws(() => loadCredentialsKey(dir, fileWith(name, text, 0o600)), /must hold 64 hex digits/);
    }
  });

  it('is configured with --credentials-key-file or HOURGLASS_CREDENTIALS_KEY_FILE', () => {
    const flag = resolveConfig({ flags: { 'credentials-key-file': 'k.key' }, env: {} });
    assert.match(flag.credentialsKeyFile ?? '', /\/k\.key$/);
    const env = resolveConfig({ flags: {}, env: { HOURGLASS_CREDENTIALS_KEY_FILE: '/x/y.key' } });
    assert.equal(env.credentialsKeyFile, '/x/y.key');
    assert.equal(resolveConfig({ flags: {}, env: {} }).credentialsKeyFile, null);
  });

  it('stops the server from starting when the key file is loose, saying why', async () => {
    const path = fileWith('server-loose', randomBytes(32).toString('hex'), 0o644);
    await assert.rejects(
      ServerProcess.start({
        dataDir: join(dir, 'server-data'),
        args: ['--roles', 'api', '--credentials-key-file', path],
      }),
      /credentials key file .* has mode 0644/,
    );
  });
});
