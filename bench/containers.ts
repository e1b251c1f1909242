// bench/containers: Hourglass's container runtime against the same work done with plain `runc run`, in the same
// run on the same machine. The work is `/bin/sh -c 'echo x'` in a busybox image (a warm image: its rootfs is
// on disk); a run's start is when its first byte of output arrives (the process is running inside the
// container). Measured:
//   start-now     — execute() with no startAt → first output, one at a time (the executor: image pin, overlay,
//                   config.json, runc run);
//   runc-run      — the peer: `runc run` of a prepared bundle → first output (then `runc delete`);
//   scheduled     — execute() handed over 500 ms ahead with startAt: first output − startAt (the preparation is
//                   done ahead; what remains is runc run itself);
//   sustained     — runs per second, `--concurrency` at a time, for `--seconds`: Hourglass, then plain runc.
// And through a real server (the binary: API, SQLite, queue, worker), with the images in a docker-registry on
// loopback:
//   cold pull     — the 26 MiB Python image into an empty cache (resolve, copy, layer check, unpack);
//   start-now warm — as start-now, with warm containers on (--warm-containers 2): each run takes the container
//                   made for it after the run before, and only its gate opens;
//   api run-now   — client clock before POST /v1/jobs/{id}/runs → the run's startedAt (runc spawned), and
//                   → the time python3 in the container prints first thing (the process's own clock); with
//                   the defaults (warm containers, tag resolutions reused) and with both off (each run
//                   resolves its tag with the registry and creates its container);
//   api scheduled — an `every 1s` schedule: startedAt − dueAt of each tick (the gate's release).
//
//   npm run build && node dist/bench/containers.js [--runs 100] [--seconds 10] [--concurrency 4] [--out FILE]
//     [--only api]   (the API part alone)
//
// Needs root, runc and busybox-static (the image is built from the host's static busybox, as the tests do).

import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { buildRuntimeSpec, DEFAULT_CONTAINER_LIMITS } from '../src/adapters/container/runtime-spec.js';
import type { ExecutionSpec, Executor } from '../src/ports/executor.js';
import { DEFAULT_CONTAINER_ID_MAP } from '../src/ports/images.js';
import { OciImageCache } from '../src/adapters/oci/oci-image-cache.js';
import { containerFixture, type ContainerFixture } from '../test/support/container-fixtures.js';
import { buildBusyboxImage, buildPythonImage, startTestRegistry } from '../test/support/oci-fixtures.js';
import { ServerProcess } from '../test/support/server-process.js';
import { round, summarize } from './stats.js';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '4' },
    out: { type: 'string' },
    only: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const WARMUP = 5;
const preciseNow = (): number => performance.timeOrigin + performance.now();

let sequence = 0;
function spec(startAt: number | null): ExecutionSpec {
  const argv = ['/bin/sh', '-c', 'echo x'];
  return {
    runId: `run_bench_${process.pid}_${sequence++}`,
    attempt: 1,
    tenantId: 'tenant_bench',
    argv,
    command: argv,
    args: [],
    env: {},
    image: 'registry.bench/busybox:1',
    registryCredentials: null,
    memoryMb: 256,
    timeoutMs: 30_000,
    startAt,
  };
}

/** One execute(): ms from `from` (execute() called, or the start it was asked for) to the first output byte. */
async function firstOutput(executor: Executor, startAt: number | null): Promise<number> {
  const from = startAt ?? preciseNow();
  let at = 0;
  const result = await executor.execute(
    spec(startAt),
    {
      onStarted: () => undefined,
      onOutput: () => {
        if (at === 0) at = preciseNow();
      },
    },
    new AbortController().signal,
  );
  if (result.outcome !== 'succeeded' || at === 0)
    throw new Error(`bench run ${result.outcome}: ${result.reason}`);
  return at - from;
}

/** Plain runc: a bundle prepared once (overlay mounted), then `runc run` → first output, `runc delete`. */
async function plainRunc(bundle: string, root: string, id: string): Promise<number> {
  const from = preciseNow();
  let at = 0;
  const child = spawn('runc', ['--root', root, 'run', '--bundle', bundle, id], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout.on('data', () => {
    if (at === 0) at = preciseNow();
  });
  const code = await new Promise((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`runc run exited ${String(code)}`);
  await run('runc', ['--root', root, 'delete', '--force', id]).catch(() => undefined);
  return at - from;
}

async function preparePlainBundle(fixture: ContainerFixture): Promise<{ bundle: string; root: string }> {
  const bundle = join(fixture.dir, 'plain-bundle');
  const root = join(fixture.dir, 'plain-runc');
  for (const dir of ['upper', 'work', 'rootfs', 'upper/tmp'])
    mkdirSync(join(bundle, dir), { recursive: true });
  await run('chown', [
    `${DEFAULT_CONTAINER_ID_MAP.hostId}:${DEFAULT_CONTAINER_ID_MAP.hostId}`,
    join(bundle, 'upper'),
    join(bundle, 'work'),
  ]);
  await run('chmod', ['711', bundle]);
  await run('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${fixture.rootfs},upperdir=${bundle}/upper,workdir=${bundle}/work`,
    join(bundle, 'rootfs'),
  ]);
  const config = buildRuntimeSpec({
    argv: ['/bin/sh', '-c', 'echo x'],
    env: ['PATH=/bin'],
    cwd: '/',
    uid: 0,
    gid: 0,
    hostname: 'run',
    idMap: DEFAULT_CONTAINER_ID_MAP,
    limits: { ...DEFAULT_CONTAINER_LIMITS, memoryMb: 256 },
    cgroupsPath: `${fixture.cgroupParent}/plain`,
    networkNamespacePath: null,
  });
  // No cgroupsPath: runc then names each container's cgroup by its id, so concurrent runs do not collide.
  const linux = config.linux as Record<string, unknown>;
  delete linux.cgroupsPath;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  return { bundle, root };
}

async function sustained(work: () => Promise<unknown>): Promise<number> {
  const until = preciseNow() + SECONDS * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (preciseNow() < until) {
        await work();
        done++;
      }
    }),
  );
  return done / SECONDS;
}

const summary = (samples: number[]) => {
  const s = summarize(samples.slice(WARMUP));
  return { n: s.n, p50: round(s.p50), p90: round(s.p90), p99: round(s.p99), max: round(s.max) };
};

async function coldPull(): Promise<number[]> {
  const registry = await startTestRegistry();
  const dir = mkdtempSync(join(tmpdir(), 'hg-bench-pull-'));
  chmodSync(dir, 0o711);
  try {
    await registry.push(await buildPythonImage(), 'lang/python:3.11');
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const cache = new OciImageCache({
        cacheDir: join(dir, `cache-${i}`),
        idMap: DEFAULT_CONTAINER_ID_MAP,
        maxImageBytes: 1024 ** 3,
        maxCacheBytes: 10 * 1024 ** 3,
        insecureRegistries: [registry.host],
      });
      const from = preciseNow();
      const image = await cache.prepare(
        { reference: `${registry.host}/lang/python:3.11`, tenantId: 'tenant_bench', credentials: null },
        new AbortController().signal,
      );
      times.push(preciseNow() - from);
      image.release();
    }
    return times;
  } finally {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ApiTimes {
  runNow: number[];
  runNowProcess: number[];
  scheduled: number[];
}

async function throughTheApi(env: Record<string, string>, withSchedule: boolean): Promise<ApiTimes> {
  const registry = await startTestRegistry();
  await registry.push(await buildBusyboxImage(), 'tools/busybox:1');
  await registry.push(await buildPythonImage(), 'lang/python:3.11');
  const server = await ServerProcess.start({
    env: { HOURGLASS_INSECURE_REGISTRIES: registry.host, HOURGLASS_LOG_LEVEL: 'error', ...env },
  });
  try {
    const tenant = await server.createTenant('bench', { allowHostCommands: false });
    await server.create(tenant.key, '/v1/jobs', {
      name: 'echo',
      image: `${registry.host}/tools/busybox:1`,
      command: ['echo', 'x'],
      resources: { memoryMb: 128 },
    });
    const runNow: number[] = [];
    for (let i = 0; i < Math.min(RUNS, 50) + WARMUP; i++) {
      const from = Date.now();
      const created = await server.create(tenant.key, '/v1/jobs/echo/runs');
      const run = await server.waitForRun(tenant.key, created.id, undefined, 30_000);
      runNow.push(Date.parse(run.startedAt) - from);
    }
    // The process's own clock: python3 prints its time as its first act (its interpreter start included,
    // so this is an upper bound on API → process running).
    await server.create(tenant.key, '/v1/jobs', {
      name: 'clock',
      image: `${registry.host}/lang/python:3.11`,
      command: ['python3', '-I', '-S', '-c', 'import time; print(time.time_ns())'],
      resources: { memoryMb: 128 },
    });
    const runNowProcess: number[] = [];
    for (let i = 0; i < Math.min(RUNS, 50) + WARMUP; i++) {
      const from = Date.now();
      const created = await server.create(tenant.key, '/v1/jobs/clock/runs');
      await server.waitForRun(tenant.key, created.id, undefined, 30_000);
      const printed = (
        await server.request('GET', `/v1/runs/${created.id}/logs`, { key: tenant.key })
      ).text.trim();
      runNowProcess.push(Number(BigInt(printed) / 1000n) / 1000 - from);
    }
    if (!withSchedule) return { runNow, runNowProcess, scheduled: [] };
    const schedule = await server.create(tenant.key, '/v1/jobs/echo/schedules', { every: '1s' });
    await new Promise((resolve) => setTimeout(resolve, (30 + WARMUP) * 1000));
    await server.request('POST', `/v1/schedules/${schedule.id}/pause`, { key: tenant.key });
    const runs = await server.request('GET', `/v1/runs?scheduleId=${schedule.id}&limit=100`, {
      key: tenant.key,
    });
    const scheduled = (runs.body.items as { lagMs: number | null }[])
      .map((r) => r.lagMs)
      .filter((lag): lag is number => lag !== null)
      .reverse();
    return { runNow, runNowProcess, scheduled };
  } finally {
    await server.stop();
    await registry.stop();
  }
}

/** Run-now through the API with the defaults, and with warm containers and tag reuse off (the peer). */
async function runNowBothWays() {
  const off = await throughTheApi({ HOURGLASS_WARM_CONTAINERS: '0', HOURGLASS_IMAGE_TAG_TTL_MS: '0' }, false);
  const defaults = await throughTheApi({}, true);
  return {
    apiRunNowMs: summary(defaults.runNow),
    apiRunNowProcessMs: summary(defaults.runNowProcess),
    apiRunNowNoWarmNoTagReuseMs: summary(off.runNow),
    apiRunNowProcessNoWarmNoTagReuseMs: summary(off.runNowProcess),
    apiScheduledLagMs: summary(defaults.scheduled),
  };
}

function machine() {
  return { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((l) => round(l)) };
}

function output(results: Record<string, unknown>): void {
  const text = JSON.stringify(results, null, 2);
  process.stdout.write(`${text}\n`);
  if (values.out !== undefined) writeFileSync(values.out, `${text}\n`);
}

if (values.only === 'api') {
  output({ date: new Date().toISOString(), machine: machine(), ...(await runNowBothWays()) });
  process.exit(0);
}

const fixture = containerFixture({ killGraceMs: 200 });
const warmFixture = containerFixture({ killGraceMs: 200, warmContainers: 2 });
try {
  await fixture.executor.removeOrphans();
  const plain = await preparePlainBundle(fixture);
  const startNow: number[] = [];
  const startNowWarm: number[] = [];
  const runcRun: number[] = [];
  const scheduled: number[] = [];
  // Interleaved, so all see the same machine.
  for (let i = 0; i < RUNS + WARMUP; i++) {
    startNow.push(await firstOutput(fixture.executor, null));
    startNowWarm.push(await firstOutput(warmFixture.executor, null));
    runcRun.push(await plainRunc(plain.bundle, plain.root, `plain-${i}`));
  }
  await warmFixture.executor.close();
  for (let i = 0; i < Math.min(RUNS, 50) + WARMUP; i++)
    scheduled.push(await firstOutput(fixture.executor, preciseNow() + 500));
  const hourglassPerSecond = await sustained(() => firstOutput(fixture.executor, null));
  let plainSequence = 0;
  // Plain runc, concurrently, on one prepared bundle (cheaper than Hourglass's overlay per run).
  const runcPerSecond = await sustained(() =>
    plainRunc(plain.bundle, plain.root, `plain-s${plainSequence++}`),
  );
  const pulls = await coldPull();
  const api = await runNowBothWays();
  output({
    date: new Date().toISOString(),
    machine: machine(),
    runs: RUNS,
    startNowMs: summary(startNow),
    startNowWarmMs: summary(startNowWarm),
    plainRuncRunMs: summary(runcRun),
    scheduledLagMs: summary(scheduled),
    coldPullPythonMs: { n: pulls.length, p50: round(summarize(pulls).p50), max: round(summarize(pulls).max) },
    ...api,
    sustained: {
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      hourglassPerSecond: round(hourglassPerSecond, 1),
      plainRuncPerSecond: round(runcPerSecond, 1),
    },
  });
} finally {
  // The peer's bundle is mounted for the whole run: unmounted whatever happened, before its directory goes.
  await run('umount', ['-l', join(fixture.dir, 'plain-bundle', 'rootfs')]).catch(() => undefined);
  await warmFixture.executor.close();
  fixture.cleanup();
  warmFixture.cleanup();
}
