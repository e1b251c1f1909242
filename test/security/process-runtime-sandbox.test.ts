// A hostile tenant's host command, run by the real server as root, against what the process runtime must keep
// from it: the admin key (in the server's environment: HOURGLASS_ADMIN_KEY), the database, another tenant's
// logs, a live run's environment, and the server's and other runs' processes. The hostile job dumps whatever it
// can read and reports every signal that got through; the test looks in its log for the secrets. Removing the
// uid per run, or the data directory's 0700, makes these tests fail (checked by hand: see docs/security.md).
// And the memory limit: a 64 MB job that allocates 400 MB ends oom_killed.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { IS_ROOT, skipUnless } from '../support/required-services.js';
import { ServerProcess } from '../support/server-process.js';

type Tenant = { id: string; key: string; keyId: string };

/** Whether this host has a cgroup v1 memory controller (what the memory limit needs). */
const HAS_MEMORY_CGROUP_V1 = existsSync('/sys/fs/cgroup/memory/cgroup.procs');

/**
 * Reads every /proc/<pid>/environ and cmdline it may (printing them), the data directory and its database and
 * logs, and signals the server, its parent (the launcher) and every process whose cmdline carries $MARK.
 */
const HOSTILE = `
for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do
  if content=$(tr '\\0' '\\n' < "$f" 2>/dev/null); then printf 'READ %s\\n%s\\n' "$f" "$content"; fi
done
if cat "$DATA/hourglass.db" > /dev/null 2>&1; then echo "LEAK database read"; else echo "database: denied"; fi
if ls "$DATA" > /dev/null 2>&1; then echo "LEAK data dir listed"; else echo "data dir: denied"; fi
for f in "$DATA"/logs/* "$DATA"/*; do cat "$f" 2>/dev/null; done
if kill -0 "$SERVER_PID" 2>/dev/null; then echo "LEAK signalled server"; else echo "server kill -0: denied"; fi
if kill -TERM "$SERVER_PID" 2>/dev/null; then echo "LEAK SIGTERM server"; else echo "server SIGTERM: denied"; fi
if kill -0 "$PPID" 2>/dev/null; then echo "LEAK signalled launcher"; else echo "launcher kill -0: denied"; fi
for d in /proc/[0-9]*; do
  pid=\${d#/proc/}
  if tr '\\0' ' ' < "$d/cmdline" 2>/dev/null | grep -q "$MARK"; then
    echo "FOUND $pid"
    if kill -0 "$pid" 2>/dev/null; then echo "LEAK signalled $pid"; fi
  fi
done
echo hostile-done
`;

describe('a hostile host command (the server runs as root)', { skip: skipUnless(IS_ROOT, 'root') }, () => {
  let server: ServerProcess;
  let hostile: Tenant;
  let victim: Tenant;
  const victimSecret = `victim-env-${randomBytes(12).toString('hex')}`;
  const victimLogSecret = `victim-log-${randomBytes(12).toString('hex')}`;
  const mark = `victim-mark-${randomBytes(6).toString('hex')}`;

  before(async () => {
    server = await ServerProcess.start();
    hostile = await server.createTenant('hostile');
    victim = await server.createTenant('victim');
  });
  after(() => server.stop());

  async function runJob(key: string, name: string, body: Record<string, unknown>): Promise<any> {
    const created = await server.request('POST', '/v1/jobs', { key, body: { name, ...body } });
    assert.equal(created.status, 201, created.text);
    const run = await server.request('POST', `/v1/jobs/${name}/runs`, { key, body: {} });
    assert.equal(run.status, 201, run.text);
    return run.body;
  }

  async function logOf(key: string, runId: string): Promise<string> {
    return (await server.request('GET', `/v1/runs/${runId}/logs`, { key })).text;
  }

  it('says on /readyz what the process runtime isolates', async () => {
    const ready = await server.request('GET', '/readyz');
    assert.equal(ready.status, 200);
    const runtime = ready.body.isolation.processRuntime;
    assert.equal(runtime.separateUsers, true);
    assert.equal(runtime.memoryLimit, HAS_MEMORY_CGROUP_V1 ? 'cgroup' : 'address-space');
    assert.equal(runtime.filesystemIsolated, false);
    assert.equal(runtime.networkIsolated, false);
    assert.match(runtime.summary, /not a sandbox/);
    // Whether jobs with an image can run here, and with which runtime (runc is installed where this runs).
    const containers = ready.body.isolation.containerRuntime;
    assert.equal(containers.runtime, 'runc');
    assert.equal(containers.available, containers.reason === null);
    if (containers.available) assert.match(containers.version, /^\d+\.\d+/);
  });

  it('cannot read the admin key, the database, another tenant’s logs or a live run’s environment, nor signal', async () => {
    // Another tenant's log, with a secret in it.
    const logged = await runJob(victim.key, 'logs-secret', { command: ['echo', victimLogSecret] });
    assert.equal((await server.waitForRun(victim.key, logged.id)).status, 'succeeded');
    assert.match(await logOf(victim.key, logged.id), new RegExp(victimLogSecret));
    // Another tenant's live run, with a secret in its environment and a mark on its command line.
    const live = await runJob(victim.key, 'live-secret', {
      command: ['python3', '-c', 'import sys, time; time.sleep(60)', mark],
      env: { VICTIM_SECRET: victimSecret },
    });
    await server.waitForRun(victim.key, live.id, ['running']);

    const attack = await server.request('POST', '/v1/jobs', {
      key: hostile.key,
      body: {
        name: 'attack',
        command: ['sh', '-c', HOSTILE],
        env: { DATA: server.dataDir, SERVER_PID: String(server.pid), MARK: mark },
      },
    });
    assert.equal(attack.status, 201, attack.text);
    const run = await server.request('POST', '/v1/jobs/attack/runs', { key: hostile.key, body: {} });
    const ended = await server.waitForRun(hostile.key, run.body.id);
    assert.equal(ended.status, 'succeeded', JSON.stringify(ended));
    const output = await logOf(hostile.key, run.body.id);

    assert.match(output, /hostile-done/);
    // It did read what it may: its own environment, so the dump works.
    assert.match(output, new RegExp(`MARK=${mark}`));
    assert.equal(output.includes(server.adminKey), false, 'the admin key leaked');
    assert.equal(output.includes(victimSecret), false, 'the live run’s environment leaked');
    assert.equal(output.includes(victimLogSecret), false, 'the other tenant’s log leaked');
    assert.equal(output.includes('SQLite format 3'), false, 'the database leaked');
    assert.doesNotMatch(output, /^LEAK /m);
    for (const denied of [
      'database: denied',
      'data dir: denied',
      'server kill -0: denied',
      'server SIGTERM: denied',
      'launcher kill -0: denied',
    ]) {
      assert.match(output, new RegExp(`^${denied}$`, 'm'));
    }
    // It saw the live run (its command line is public), so the signal it could not send was a real try.
    assert.match(output, /^FOUND \d+$/m);
    // The server is fine and the victim's run still runs.
    assert.equal((await server.request('GET', '/healthz')).status, 200);
    assert.equal(
      (await server.request('GET', `/v1/runs/${live.id}`, { key: victim.key })).body.status,
      'running',
    );
    await server.request('POST', `/v1/runs/${live.id}/cancel`, { key: victim.key });
    await server.waitForRun(victim.key, live.id);
  });

  it('starts the launcher (which forks the runs) with nothing of the server’s environment but PATH', () => {
    const launchers = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .filter((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          return (
            ppid === server.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('launcher-process')
          );
        } catch {
          return false; // gone meanwhile
        }
      });
    assert.equal(launchers.length, 1, 'the server has one launcher');
    const environ = readFileSync(`/proc/${launchers[0]}/environ`, 'utf8');
    assert.equal(environ.includes(server.adminKey), false);
    assert.deepEqual(
      environ
        .split('\0')
        .filter((entry) => entry !== '')
        .map((entry) => entry.slice(0, entry.indexOf('=')))
        // Node's own, for the IPC channel to the server.
        .filter((name) => !name.startsWith('NODE_CHANNEL_')),
      ['PATH'],
    );
  });

  it('runs each run under a uid of its own, in its own session, with no supplementary groups', async () => {
    const script =
      'id -u; id -g; id -G; cut -d" " -f6 /proc/$$/stat; echo $$; test -w . && echo scratch-writable';
    const runs = await Promise.all(
      ['uid-a', 'uid-b'].map((name) => runJob(hostile.key, name, { command: ['sh', '-c', script] })),
    );
    const outputs = await Promise.all(
      runs.map(async (run) => {
        assert.equal((await server.waitForRun(hostile.key, run.id)).status, 'succeeded');
        return (await logOf(hostile.key, run.id)).trim().split('\n');
      }),
    );
    for (const [uid, gid, groups, sid, pid, writable] of outputs) {
      assert.ok(Number(uid) >= 2_000_000_000, `uid ${uid}`);
      assert.equal(gid, uid);
      assert.equal(groups, uid);
      assert.equal(sid?.trim(), pid); // it leads its own session
      assert.equal(writable, 'scratch-writable');
    }
    assert.notEqual(outputs[0]?.[0], outputs[1]?.[0]);
  });

  it(
    'kills a 64 MB job that allocates 400 MB: oom_killed',
    { skip: skipUnless(HAS_MEMORY_CGROUP_V1, 'a cgroup v1 memory controller') },
    async () => {
      const job = await server.request('POST', '/v1/jobs', {
        key: hostile.key,
        body: {
          name: 'hog',
          command: ['python3', '-c', 'b = bytearray(400 * 1024 * 1024); print("allocated", len(b))'],
          resources: { memoryMb: 64 },
        },
      });
      assert.equal(job.status, 201, job.text);
      assert.equal(job.body.memoryLimit, 'cgroup');
      const run = await server.request('POST', '/v1/jobs/hog/runs', { key: hostile.key, body: {} });
      const ended = await server.waitForRun(hostile.key, run.body.id);
      assert.equal(ended.status, 'oom_killed', JSON.stringify(ended));
      assert.match(ended.reason, /64 MB/);
      assert.doesNotMatch(await logOf(hostile.key, run.body.id), /allocated/);
      // Within its limit, the same program runs.
      const small = await runJob(hostile.key, 'small', {
        command: ['python3', '-c', 'b = bytearray(16 * 1024 * 1024); print("allocated", len(b))'],
        resources: { memoryMb: 64 },
      });
      assert.equal((await server.waitForRun(hostile.key, small.id)).status, 'succeeded');
    },
  );
});
