// The admin secret: a key file is refused unless only its owner can read it, a weak operator key is refused,
// and HOURGLASS_ADMIN_KEY is in no child's environment (the launcher's, a run's) once the server has read it.
// Also what Node does on Linux, which docs/security.md states: deleting a variable from process.env keeps it
// out of children, but the process's own /proc/<pid>/environ (fixed at exec) still shows it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkAdminKey, estimateKeyBits } from '../../src/server/admin-key.js';
import { ConfigError, resolveConfig } from '../../src/server/config.js';
import { IS_ROOT, skipUnless } from '../support/required-services.js';
import { runCli, ServerProcess } from '../support/server-process.js';

const strongKey = () => randomBytes(32).toString('hex');

describe('the admin key file', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'hourglass-keyfile-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const fileWith = (name: string, content: string, mode: number): string => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode });
    chmodSync(path, mode); // whatever the umask
    return path;
  };
  const configWith = (path: string) => resolveConfig({ flags: { 'admin-key-file': path }, env: {} });

  it('is accepted at 0600 and 0400, with its trailing newline dropped', () => {
    const key = strongKey();
    for (const mode of [0o600, 0o400]) {
      const config = configWith(fileWith(`ok-${mode.toString(8)}`, `${key}\n`, mode));
      assert.equal(config.adminKey, key);
      assert.equal(config.adminKeySource, 'admin key file');
    }
    const viaEnv = resolveConfig({ flags: {}, env: { HOURGLASS_ADMIN_KEY_FILE: join(dir, 'ok-600') } });
    assert.equal(viaEnv.adminKey, key);
  });

  it('is refused when its group or others have any permission, naming the mode', () => {
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o601, 0o660]) {
      const path = fileWith(`loose-${mode.toString(8)}`, strongKey(), mode);
      assert.throws(
        () => configWith(path),
        (error: Error) => error instanceof ConfigError && error.message.includes(`mode 0${mode.toString(8)}`),
      );
    }
  });

  it('is refused when it is not a regular file, is missing or is empty', () => {
    const sub = join(dir, 'a-directory');
    mkdirSync(sub, { mode: 0o700 });
    assert.throws(() => configWith(sub), /not a regular file/);
    assert.throws(() => configWith(join(dir, 'missing')), /cannot open the admin key file/);
    assert.throws(() => configWith(fileWith('empty', '', 0o600)), /is empty/);
  });

  it('follows a symbolic link (as secret mounts use) but checks the file it reaches', () => {
    const key = strongKey();
    const target = fileWith('target', key, 0o600);
    symlinkSync(target, join(dir, 'link'));
    assert.equal(configWith(join(dir, 'link')).adminKey, key);
    chmodSync(target, 0o644);
    assert.throws(() => configWith(join(dir, 'link')), /mode 0644/);
  });

  it('cannot be combined with HOURGLASS_ADMIN_KEY, and --admin-key on the command line is refused', () => {
    const path = fileWith('both', strongKey(), 0o600);
    assert.throws(
      () => resolveConfig({ flags: { 'admin-key-file': path }, env: { HOURGLASS_ADMIN_KEY: strongKey() } }),
      /not both/,
    );
    assert.throws(
      () => resolveConfig({ flags: { 'admin-key': strongKey() }, env: {} }),
      /--admin-key is not accepted: every user of the host can read a command line/,
    );
  });

  it('stops the real server from starting when loose (exit code 2, the reason on stderr)', async () => {
    const path = fileWith('loose-server', strongKey(), 0o644);
    const { code, stderr } = await runCli(['server', '--port', '0', '--data-dir', join(dir, 'data')], {
      ...process.env,
      HOURGLASS_ADMIN_KEY_FILE: path,
    });
    assert.equal(code, 2, stderr);
    assert.match(stderr, /has mode 0644: its group and others must have no access/);
  });
});

describe('admin key strength', () => {
  it('refuses operator keys estimated below 128 bits, or plainly not random, naming the variable', () => {
    const weak = [
      'short',
      'hg_' + 'a'.repeat(60), // one character
      '0123456789abcdef0123456789abcdef', // a run, and a repeat
      'passwordpasswordpassword1', // mostly repeated
      'correcthorsebatterystaple', // 25 lower-case letters: about 117 bits by the estimate
      randomBytes(15).toString('hex'), // 120 random bits
      'x9Kq-' + 'abcdefgh' + 'Zr7!pW2m', // a six-character sequence
    ];
    for (const key of weak) {
      assert.throws(
        () => resolveConfig({ flags: {}, env: { HOURGLASS_ADMIN_KEY: key } }),
        (error: Error) =>
          error instanceof ConfigError && /^HOURGLASS_ADMIN_KEY is too weak/.test(error.message),
        key,
      );
    }
    assert.throws(() => checkAdminKey(`${strongKey()} x`, 'K'), /printable ASCII without spaces/);
  });

  it('accepts random keys of 128 bits and more, and the test harness key format', () => {
    const good = [
      `hg_test_admin_${'1f2e3d4c5b6a79880716a5b4c3d2e1f0'}`,
      randomBytes(32).toString('hex'),
      randomBytes(16).toString('base64url'),
      `hg_${randomBytes(32).toString('base64url')}`,
    ];
    for (const key of good) {
      assert.ok(estimateKeyBits(key) >= 128, `${key}: ${estimateKeyBits(key)}`);
      assert.equal(resolveConfig({ flags: {}, env: { HOURGLASS_ADMIN_KEY: key } }).adminKey, key);
    }
    assert.equal(estimateKeyBits(randomBytes(16).toString('hex')), 128);
  });
});

/** The environment of process `pid`, as its /proc entry shows it (what another process of its uid can read). */
function environOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
}

/** Every descendant of `pid`, found through the parent pid in /proc/<pid>/stat. */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(name), ppid);
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  const walk = (parent: number): void => {
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

const cmdlineOf = (pid: number): string => readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');

describe('HOURGLASS_ADMIN_KEY in /proc/<pid>/environ', () => {
  it('Node on Linux: a deleted variable is not inherited, but stays in the process’s own environ', async () => {
    const secret = `hg_${randomBytes(16).toString('hex')}`;
    const script = `
      delete process.env.HOURGLASS_ADMIN_KEY;
      const child = require('node:child_process').spawn('sleep', ['30'], { stdio: 'ignore' });
      console.log(child.pid);
      process.stdin.on('data', () => { child.kill(); process.exit(0); });`;
    const parent = spawn(process.execPath, ['-e', script], {
      env: { ...process.env, HOURGLASS_ADMIN_KEY: secret },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const childPid = Number(
      await new Promise<string>((r) => parent.stdout.once('data', (d) => r(String(d)))),
    );
    try {
      assert.ok(
        !environOf(childPid).includes(`HOURGLASS_ADMIN_KEY=${secret}`),
        'the child did not inherit it',
      );
      assert.ok(
        environOf(parent.pid ?? -1).includes(`HOURGLASS_ADMIN_KEY=${secret}`),
        "the parent's own environ is fixed at exec: deleting from process.env does not scrub it",
      );
    } finally {
      const exited = new Promise((r) => parent.once('exit', r));
      parent.stdin.end('stop\n');
      await exited;
    }
  });

  for (const via of ['HOURGLASS_ADMIN_KEY', 'a key file'] as const) {
    it(
      `is in neither the launcher's nor a run's environ (key given in ${via})`,
      {
        skip: skipUnless(IS_ROOT, 'root (to read the /proc entries of the runs, whatever user they run as)'),
      },
      async () => {
        const server = await ServerProcess.start({ adminKeyFile: via === 'a key file' });
        try {
          const { key } = await server.createTenant('watched');
          const job = { name: 'waits', command: ['sh', '-c', 'echo started; exec sleep 30'] };
          assert.equal((await server.request('POST', '/v1/jobs', { key, body: job })).status, 201);
          const run = (await server.request('POST', '/v1/jobs/waits/runs', { key, body: {} })).body;
          await server.waitForRun(key, run.id, ['running']);
          for (let i = 0; i < 200; i++) {
            const log = await server.request('GET', `/v1/runs/${run.id}/logs`, { key });
            if (log.text.startsWith('started')) break;
            await new Promise((r) => setTimeout(r, 50));
          }
          const descendants = descendantsOf(server.pid);
          const launcher = descendants.find((pid) => cmdlineOf(pid).includes('launcher'));
          const sleeper = descendants.find((pid) => cmdlineOf(pid).startsWith('sleep 30'));
          assert.ok(launcher !== undefined && sleeper !== undefined, descendants.map(cmdlineOf).join('\n'));
          for (const pid of descendants) {
            const leaked = environOf(pid).filter(
              (entry) => entry.startsWith('HOURGLASS_ADMIN_KEY=') || entry.includes(server.adminKey),
            );
            assert.deepEqual(leaked, [], `${cmdlineOf(pid)} (pid ${pid})`);
          }
          const own = environOf(server.pid).some((entry) => entry.includes(server.adminKey));
          // With the variable, the server's own environ keeps it (see above): the reason to use a key file.
          assert.equal(own, via === 'HOURGLASS_ADMIN_KEY');
          await server.request('POST', `/v1/runs/${run.id}/cancel`, { key });
        } finally {
          await server.stop();
        }
      },
    );
  }
});
