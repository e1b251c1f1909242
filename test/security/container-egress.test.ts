// (TEST-NET-2: this machine's own uplink and package proxy use TEST-NET-1 and TEST-NET-3.)
// The `egress` network mode against a test "internet": a network namespace (hgt-inet-…) holding 198.51.100.1
// (TEST-NET-3) on a veth from the root namespace, plus 169.254.169.254, 192.168.213.1 and 100.64.213.1 routed
// to it, all answering on :8080 with the source address they saw. Each run namespace acts as the container
// (`ip netns exec <run ns> node <probe>`; the runc executor joins the same namespace). Every address tried is
// either loopback, the host's own or inside namespaces made here: no packet leaves the machine. Each "cannot
// reach" has a sanity check that the target does answer, so a missing rule would really connect (checked by
// hand by removing each rule: see docs/security.md, "Container network").

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { PreparedNetwork } from '../../src/adapters/container/container-network.js';
import { EgressNetworks, type EgressNetwork } from '../../src/adapters/container/egress-network.js';
import { RuncExecutor } from '../../src/adapters/container/runc-executor.js';
import { CAN_RUN_CONTAINERS, containerFixture } from '../support/container-fixtures.js';
import { captureExecution, executionSpec } from '../support/executor-fixtures.js';
import { IS_ROOT, skipUnless } from '../support/required-services.js';

const HAS_TOOLS =
  existsSync('/usr/sbin/ip') && existsSync('/usr/sbin/iptables') && existsSync('/usr/bin/unshare');

/** Connects to argv[1]:argv[2] and prints {ok, data} or {error}. 2.5 s: a dropped SYN never answers. */
const PROBE = `
const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
let data = '';
const done = (r) => { console.log(JSON.stringify(r)); process.exit(0); };
s.setTimeout(2500, () => done({ error: 'timeout' }));
s.on('data', (d) => (data += d)); s.on('end', () => done({ ok: true, data }));
s.on('error', (e) => done({ error: e.code }));`;
const SERVER = `
require('node:net').createServer((s) => s.end(s.remoteAddress.replace(/^::ffff:/, ''))).listen(8080, '0.0.0.0', () => console.log('listening'));`;

type ProbeResult = { ok?: boolean; data?: string; error?: string };

function ip(...args: string[]): string {
  return execFileSync('/usr/sbin/ip', args, { encoding: 'utf8' });
}

function probeFrom(namespace: string | null, host: string, port: number): Promise<ProbeResult> {
  const argv = ['-e', PROBE, host, String(port)];
  const [file, args] =
    namespace === null
      ? [process.execPath, argv]
      : ['/usr/sbin/ip', ['netns', 'exec', namespace, process.execPath, ...argv]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(JSON.parse(out || '{"error":"no output"}') as ProbeResult));
  });
}

async function startServerIn(namespace: string, children: ChildProcess[]): Promise<void> {
  const child = spawn('/usr/sbin/ip', ['netns', 'exec', namespace, process.execPath, '-e', SERVER], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.on('exit', () => reject(new Error(`server in ${namespace} exited`)));
  });
}

/** The IPv6 link-local address the kernel would give an interface with this MAC (EUI-64). */
function linkLocalFor(mac: string): string {
  const b = mac.split(':').map((h) => parseInt(h, 16));
  const words = [
    ((b[0] ?? 0) ^ 2) * 256 + (b[1] ?? 0),
    (b[2] ?? 0) * 256 + 0xff,
    0xfe00 + (b[3] ?? 0),
    (b[4] ?? 0) * 256 + (b[5] ?? 0),
  ];
  return `fe80::${words.map((w) => w.toString(16)).join(':')}`;
}

describe(
  'egress network mode',
  { skip: skipUnless(IS_ROOT && HAS_TOOLS, 'root, ip, iptables and unshare') },
  () => {
    const rand = randomBytes(3).toString('hex');
    const inet = `hgt-inet-${rand}`;
    const inetLink = `hgti${rand}`;
    const poolByte = 100 + ((randomBytes(1)[0] ?? 0) % 100);
    const children: ChildProcess[] = [];
    const instances: EgressNetworks[] = [];
    let hostServer: Server;
    let hostPort = 0;
    let networks: EgressNetworks;
    let runA: EgressNetwork;
    let runB: EgressNetwork;
    let allowing: EgressNetworks;
    const prepared: PreparedNetwork[] = [];

    /** Every network a test makes is released in after(), whatever the test's outcome. */
    async function prepareEgress(instance: EgressNetworks, runKey: string): Promise<EgressNetwork> {
      const network = (await instance.prepare(runKey, 'egress')) as EgressNetwork;
      prepared.push(network);
      return network;
    }

    before(async () => {
      for (const target of ['198.51.100.0/24', '169.254.169.254', '192.168.213.1', '100.64.213.1']) {
        assert.equal(
          ip('route', 'show', target).trim(),
          '',
          `a route for ${target} exists already: refusing to test`,
        );
      }
      ip('netns', 'add', inet);
      ip('link', 'add', inetLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', inet);
      ip('addr', 'add', '198.51.100.2/24', 'dev', inetLink);
      ip('link', 'set', inetLink, 'up');
      ip('-n', inet, 'link', 'set', 'lo', 'up');
      ip('-n', inet, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth0');
      ip('-n', inet, 'link', 'set', 'eth0', 'up');
      for (const extra of ['169.254.169.254', '192.168.213.1', '100.64.213.1']) {
        ip('-n', inet, 'addr', 'add', `${extra}/32`, 'dev', 'lo');
        ip('route', 'add', `${extra}/32`, 'via', '198.51.100.1', 'dev', inetLink);
      }
      await startServerIn(inet, children);
      hostServer = createServer((s) => s.end('host'));
      await new Promise<void>((resolve) => hostServer.listen(0, '::', resolve));
      hostPort = (hostServer.address() as { port: number }).port;

      networks = new EgressNetworks({ prefix: `t${rand}`, pool: `10.214.${poolByte}.0/26` });
      instances.push(networks);
      // An operator who allows 192.168.213.0/24 (the test's) and all of 10/8 (so the pool's range too).
      allowing = new EgressNetworks({
        prefix: `a${rand}`,
        pool: `10.214.${poolByte}.64/26`,
        allowPrivate: ['192.168.213.0/24', '10.0.0.0/8'],
      });
      instances.push(allowing);
      runA = await prepareEgress(networks, 'run-a');
      runB = await prepareEgress(networks, 'run-b');
      await startServerIn(runB.namespaceName, children);
    });

    after(async () => {
      for (const child of children) child.kill('SIGKILL');
      hostServer?.close();
      await Promise.all(prepared.map((p) => p.release().catch(() => {})));
      for (const instance of instances) {
        await instance.removeOrphans().catch(() => {});
        await instance.removeRules().catch(() => {});
      }
      try {
        ip('link', 'del', inetLink);
      } catch {
        /* already gone */
      }
      try {
        ip('netns', 'del', inet);
      } catch {
        /* already gone */
      }
    });

    it('gives a runc container egress: it reaches the test internet, not the host, and none reaches nothing', async (t) => {
      if (!CAN_RUN_CONTAINERS) {
        skipUnless(false, 'runc and busybox-static as root');
        return t.skip('needs runc');
      }
      const fixture = containerFixture();
      const containerNetworks = new EgressNetworks({ prefix: `c${rand}`, pool: `10.214.${poolByte}.128/26` });
      instances.push(containerNetworks);
      const executor = new RuncExecutor({ ...fixture.executorOptions, networks: containerNetworks });
      try {
        const script = `echo | nc -w 3 198.51.100.1 8080; echo; echo | nc -w 2 127.0.0.1 ${hostPort} && echo HOST; cat /etc/resolv.conf`;
        const spec = (network: 'none' | 'egress') =>
          executionSpec(['/bin/sh', '-c', script], {
            runId: `run_egress_${network}_${rand}`,
            image: 'registry.test/busybox:1',
            env: {},
            memoryMb: 128,
            network,
          });
        const egress = await captureExecution(executor, spec('egress'));
        assert.equal(egress.result.outcome, 'succeeded', egress.stderr);
        const [seenAs, ...rest] = egress.stdout.split('\n'); // nc prints no newline: the echo adds it
        assert.equal(seenAs, '198.51.100.2', 'the far end sees the host, NATed');
        assert.doesNotMatch(egress.stdout, /HOST|^host$/m);
        assert.match(rest.join('\n'), /nameserver 1\.1\.1\.1/);
        const none = await captureExecution(executor, spec('none'));
        assert.doesNotMatch(none.stdout, /198\.51\.100\.2|HOST/);
        assert.deepEqual(readdirSync(fixture.bundleRoot), []);
      } finally {
        fixture.cleanup();
      }
    });

    it('reaches the test internet, with the source address NATed to the host', async () => {
      const result = await probeFrom(runA.namespaceName, '198.51.100.1', 8080);
      assert.deepEqual(result, { ok: true, data: '198.51.100.2' });
    });

    it('cannot reach any address of the host, the veth host end included', async () => {
      assert.equal(
        (await probeFrom(null, '127.0.0.1', hostPort)).data,
        'host',
        'sanity: the host listener answers',
      );
      const addresses = ip('-4', '-o', 'addr', 'show')
        .split('\n')
        .map((line) => /inet (\d+\.\d+\.\d+\.\d+)\//.exec(line)?.[1])
        .filter((a): a is string => a !== undefined && !a.startsWith('127.'));
      assert.ok(addresses.includes(runA.hostAddress));
      const results = await Promise.all(addresses.map((a) => probeFrom(runA.namespaceName, a, hostPort)));
      for (const [i, result] of results.entries())
        assert.notEqual(result.ok, true, `reached host ${addresses[i]}`);
    });

    it("cannot reach the host's loopback, even with packets routed to it", async () => {
      // A run cannot change its routes (no capabilities); root here can, to send 127.0.0.1 out through eth0.
      const ns = runA.namespaceName;
      ip('-n', ns, 'rule', 'add', 'pref', '100', 'lookup', 'local');
      ip('-n', ns, 'rule', 'del', 'pref', '0');
      ip('-n', ns, 'rule', 'add', 'pref', '10', 'to', '127.0.0.1', 'lookup', '100');
      ip('-n', ns, 'route', 'add', 'table', '100', '127.0.0.1', 'via', runA.hostAddress, 'dev', 'eth0');
      // …and to accept the reply from 127.0.0.1 on eth0, which the run's own kernel would drop as a martian.
      const localnet = ['netns', 'exec', ns, '/usr/sbin/sysctl', '-q', '-w'];
      ip(
        ...localnet,
        'net.ipv4.conf.eth0.route_localnet=1',
        'net.ipv4.conf.all.rp_filter=0',
        'net.ipv4.conf.eth0.rp_filter=0',
      );
      try {
        assert.notEqual((await probeFrom(ns, '127.0.0.1', hostPort)).ok, true);
      } finally {
        ip('-n', ns, 'rule', 'add', 'pref', '0', 'lookup', 'local');
        ip('-n', ns, 'rule', 'del', 'pref', '10');
        ip('-n', ns, 'rule', 'del', 'pref', '100');
        ip(...localnet, 'net.ipv4.conf.eth0.route_localnet=0');
      }
    });

    it('cannot reach link-local metadata (169.254.169.254)', async () => {
      assert.equal((await probeFrom(null, '169.254.169.254', 8080)).ok, true, 'sanity: it answers the host');
      assert.notEqual((await probeFrom(runA.namespaceName, '169.254.169.254', 8080)).ok, true);
    });

    it("cannot reach another run's namespace, even where the operator allows the pool's range", async () => {
      // (The host cannot be the sanity check: run B's replies to it are dropped by the INPUT rule.)
      assert.equal(
        (await probeFrom(runB.namespaceName, runB.runAddress, 8080)).ok,
        true,
        'sanity: run B listens',
      );
      assert.notEqual((await probeFrom(runA.namespaceName, runB.runAddress, 8080)).ok, true);
      assert.notEqual((await probeFrom(runB.namespaceName, runA.hostAddress, hostPort)).ok, true);
      // With 10/8 allowed, only the rule against traffic into a run's veth stands between two runs.
      const c = await prepareEgress(allowing, 'run-c');
      const d = await prepareEgress(allowing, 'run-d');
      await startServerIn(d.namespaceName, children);
      assert.equal((await probeFrom(d.namespaceName, d.runAddress, 8080)).ok, true, 'sanity: run D listens');
      assert.notEqual((await probeFrom(c.namespaceName, d.runAddress, 8080)).ok, true);
      await Promise.all([c.release(), d.release()]);
    });

    it('cannot reach private ranges by default; an allowed block is reachable, others are not', async () => {
      assert.equal((await probeFrom(null, '192.168.213.1', 8080)).ok, true, 'sanity: it answers the host');
      assert.notEqual((await probeFrom(runA.namespaceName, '192.168.213.1', 8080)).ok, true);
      assert.notEqual((await probeFrom(runA.namespaceName, '100.64.213.1', 8080)).ok, true);
      const allowing = new EgressNetworks({
        prefix: `a${rand}`,
        pool: `10.214.${poolByte}.64/26`,
        allowPrivate: ['192.168.213.0/24'],
      });
      instances.push(allowing);
      const run = await prepareEgress(allowing, 'run-allowed');
      assert.equal((await probeFrom(run.namespaceName, '192.168.213.1', 8080)).ok, true);
      assert.notEqual((await probeFrom(run.namespaceName, '100.64.213.1', 8080)).ok, true);
      await run.release();
    });

    it('has no IPv6 path to the host', async () => {
      assert.equal(ip('-6', 'addr', 'show', 'dev', runA.hostInterface).trim(), '');
      assert.equal(
        readFileSync(`/proc/sys/net/ipv6/conf/${runA.hostInterface}/disable_ipv6`, 'utf8').trim(),
        '1',
      );
      const mac = /link\/ether ([0-9a-f:]+)/.exec(ip('link', 'show', 'dev', runA.hostInterface))?.[1] ?? '';
      const result = await probeFrom(runA.namespaceName, `${linkLocalFor(mac)}%eth0`, hostPort);
      assert.notEqual(result.ok, true);
    });

    it('gives the run a resolv.conf with reachable resolvers', () => {
      assert.match(runA.resolvConf ?? '', /^nameserver 1\.1\.1\.1$/m);
    });

    it('none: a fresh namespace has only its loopback', async () => {
      const prepared = await networks.prepare('run-none', 'none');
      assert.equal(prepared.namespacePath, null);
      const links = execFileSync('/usr/bin/unshare', ['--net', '/usr/sbin/ip', '-o', 'link', 'show'], {
        encoding: 'utf8',
      });
      assert.deepEqual(
        links
          .trim()
          .split('\n')
          .map((l) => l.split(':')[1]?.trim()),
        ['lo'],
      );
      const probe = execFileSync(
        '/usr/bin/unshare',
        ['--net', process.execPath, '-e', PROBE, '198.51.100.1', '8080'],
        {
          encoding: 'utf8',
        },
      );
      assert.notEqual((JSON.parse(probe) as ProbeResult).ok, true);
      await prepared.release();
    });

    it('release is idempotent and frees the namespace and veth', async () => {
      const run = await prepareEgress(networks, 'run-release');
      assert.ok(existsSync(run.namespacePath));
      await Promise.all([run.release(), run.release()]);
      await run.release();
      assert.equal(existsSync(run.namespacePath), false);
      assert.doesNotMatch(ip('-o', 'link', 'show'), new RegExp(`${run.hostInterface}[@:]`));
    });

    it("removeOrphans removes a crashed worker's namespaces and veths, and only its own", async () => {
      const crashed = new EgressNetworks({ prefix: `o${rand}`, pool: `10.214.${poolByte}.128/26` });
      instances.push(crashed);
      const orphan = await prepareEgress(crashed, 'run-orphan');
      const restarted = new EgressNetworks({ prefix: `o${rand}`, pool: `10.214.${poolByte}.128/26` });
      await restarted.removeOrphans();
      assert.equal(existsSync(orphan.namespacePath), false);
      assert.doesNotMatch(ip('-o', 'link', 'show'), new RegExp(`${orphan.hostInterface}[@:]`));
      assert.ok(existsSync(runA.namespacePath), "another worker's run is untouched");
      await orphan.release(); // the old handle: nothing left to remove, no error
    });
  },
);
