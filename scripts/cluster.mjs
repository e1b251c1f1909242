#!/usr/bin/env node
// A local cluster on loopback: nginx as the load balancer in front of 2 api processes, 3 schedulers and 2
// workers, all `hourglass server` processes on the local PostgreSQL and NATS JetStream (docs/operations.md).
//
//   npm run cluster                      # builds, starts everything, prints the URLs and the keys
//   npm run cluster -- --stop            # stops all of it (SIGTERM: graceful), and nginx
//   npm run cluster -- --dir D --base-port P   # another cluster beside the first (tests use this)
//
// State lives in the cluster directory (default .hourglass-cluster/): pids, each process's log, nginx's
// config, the shared data directory (run logs), the admin key and a demo tenant's key. The database
// (hourglass_cluster by default) and the NATS namespace are named after the directory's base port.

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values } = parseArgs({
  options: {
    stop: { type: 'boolean', default: false },
    dir: { type: 'string', default: '.hourglass-cluster' },
    'base-port': { type: 'string', default: '7430' },
    postgres: {
      type: 'string',
      default: process.env.HOURGLASS_CLUSTER_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432',
    },
    nats: { type: 'string', default: process.env.HOURGLASS_CLUSTER_NATS ?? 'nats://127.0.0.1:4222' },
  },
});

const dir = resolve(values.dir);
const basePort = Number(values['base-port']);
const database = basePort === 7430 ? 'hourglass_cluster' : `hourglass_cluster_${basePort}`;
const namespace = `hourglass-cluster-${basePort}`;
const BIN = resolve('bin/hourglass.js');
// [name, role, API port, metrics port]: the api processes serve /metrics on their API port; the others on a
// metrics port of their own (--metrics-port), from the base port up: base + 3 … base + 7.
const ROLES = [
  ['api-1', 'api', basePort + 1, null],
  ['api-2', 'api', basePort + 2, null],
  ['scheduler-1', 'scheduler', 0, basePort + 3],
  ['scheduler-2', 'scheduler', 0, basePort + 4],
  ['scheduler-3', 'scheduler', 0, basePort + 5],
  ['worker-1', 'worker', 0, basePort + 6],
  ['worker-2', 'worker', 0, basePort + 7],
];

const pidFile = (name) => join(dir, 'pids', `${name}.pid`);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function nginxArgs() {
  return ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'logs', 'nginx-error.log')];
}

async function stop() {
  if (existsSync(join(dir, 'nginx.pid'))) {
    try {
      execFileSync('nginx', [...nginxArgs(), '-s', 'stop'], { stdio: 'ignore' });
    } catch {
      // not running
    }
  }
  const pids = existsSync(join(dir, 'pids'))
    ? readdirSync(join(dir, 'pids')).map((f) => Number(readFileSync(join(dir, 'pids', f), 'utf8')))
    : [];
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 150 && pids.some(alive); i++) await sleep(100);
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(join(dir, 'pids'), { recursive: true, force: true });
  console.log(`stopped ${pids.length} processes and nginx (${dir})`);
}

async function ensureDatabase() {
  const client = new pg.Client({ connectionString: `${values.postgres}/postgres` });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
}

function writeNginxConfig() {
  mkdirSync(join(dir, 'nginx-tmp'), { recursive: true });
  chmodSync(join(dir, 'nginx-tmp'), 0o1777);
  const upstream = ROLES.filter(([, role]) => role === 'api').map(
    ([, , port]) => `    server 127.0.0.1:${port};`,
  );
  const tmp = join(dir, 'nginx-tmp');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'nginx-error.log')};
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  upstream hourglass {
${upstream.join('\n')}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${basePort};
    location / {
      proxy_pass http://hourglass;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      # Log follows stream for as long as the run lasts.
      proxy_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
`,
  );
}

function startProcess(name, role, port, metricsPort, adminKeyFile) {
  const log = openSync(join(dir, 'logs', `${name}.log`), 'a');
  const child = spawn(
    process.execPath,
    [
      BIN,
      'server',
      '--roles',
      role,
      '--port',
      String(port),
      ...(metricsPort === null ? [] : ['--metrics-port', String(metricsPort)]),
      '--data-dir',
      join(dir, 'data'),
      '--admin-key-file',
      adminKeyFile,
    ],
    {
      detached: true,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        HOURGLASS_STORE: `${values.postgres}/${database}`,
        HOURGLASS_QUEUE: values.nats,
        HOURGLASS_NATS_NAMESPACE: namespace,
        HOURGLASS_CONTAINER_DIR: join(dir, `containers-${name}`),
        HOURGLASS_ADMIN_KEY: '',
      },
    },
  );
  child.unref();
  writeFileSync(pidFile(name), String(child.pid));
  return child.pid;
}

async function waitForLog(name, pattern, ms = 30_000) {
  const file = join(dir, 'logs', `${name}.log`);
  for (let waited = 0; waited < ms; waited += 100) {
    if (existsSync(file) && pattern.test(readFileSync(file, 'utf8'))) return;
    await sleep(100);
  }
  throw new Error(`${name} did not start: see ${file}`);
}

async function request(method, path, key, body) {
  const response = await fetch(`http://127.0.0.1:${basePort}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

async function start() {
  if (existsSync(join(dir, 'pids')) && readdirSync(join(dir, 'pids')).length > 0) {
    console.error(`a cluster is running from ${dir}: npm run cluster -- --stop first`);
    process.exit(1);
  }
  for (const sub of ['pids', 'logs', 'data']) mkdirSync(join(dir, sub), { recursive: true });
  const adminKeyFile = join(dir, 'admin.key');
  if (!existsSync(adminKeyFile))
    writeFileSync(adminKeyFile, `hg_${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  const adminKey = readFileSync(adminKeyFile, 'utf8').trim();
  await ensureDatabase();
  // The first api process migrates the database and records the admin key; the others start after it.
  const [first, ...rest] = ROLES;
  startProcess(...first, adminKeyFile);
  await waitForLog(first[0], /listening on http/);
  for (const entry of rest) startProcess(...entry, adminKeyFile);
  for (const [name, role] of rest)
    await waitForLog(name, role === 'api' ? /listening on http/ : /Hourglass is running/);
  writeNginxConfig();
  execFileSync('nginx', nginxArgs(), { stdio: 'inherit' });
  for (let i = 0; i < 50; i++) {
    if ((await fetch(`http://127.0.0.1:${basePort}/readyz`).catch(() => null))?.ok) break;
    await sleep(100);
  }
  const tenantKeyFile = join(dir, 'tenant.key');
  if (!existsSync(tenantKeyFile)) {
    const tenant = await request('POST', '/v1/tenants', adminKey, {
      name: 'demo',
      limits: { allowHostCommands: true },
    });
    const key = await request('POST', `/v1/tenants/${tenant.id}/keys`, adminKey, {});
    writeFileSync(tenantKeyFile, `${key.key}\n`, { mode: 0o600 });
  }
  const tenantKey = readFileSync(tenantKeyFile, 'utf8').trim();
  const metrics = ROLES.map(
    ([name, , port, metricsPort]) => `${name} http://127.0.0.1:${metricsPort ?? port}/metrics`,
  );
  console.log(`Hourglass cluster on http://127.0.0.1:${basePort} (nginx → ${ROLES.filter(([, r]) => r === 'api').length} api, 3 schedulers, 2 workers)
  store: ${values.postgres}/${database}, queue: ${values.nats} (namespace ${namespace})
  admin key: ${adminKey}
  tenant "demo" key: ${tenantKey}
  metrics: ${metrics.join('\n           ')}

  export HOURGLASS_URL=http://127.0.0.1:${basePort} HOURGLASS_API_KEY=${tenantKey}
  ./bin/hourglass.js jobs create hello -- echo "hello from the cluster"
  ./bin/hourglass.js run hello --wait

  logs: ${join(dir, 'logs')}; stop: npm run cluster -- --stop${values.dir === '.hourglass-cluster' ? '' : ` --dir ${values.dir}`}`);
}

if (values.stop) await stop();
else await start();
