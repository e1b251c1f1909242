// Black-box test harness: starts the real `hourglass server` binary as a child process on a free port and a
// temporary data directory, and talks to it over HTTP. Each test file starts its own server(s) and stops them.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { estimateKeyBits, MIN_ADMIN_KEY_BITS } from '../../src/server/admin-key.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
export const CLI = join(REPO_ROOT, 'bin/hourglass.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `hourglass` binary with `args` until it exits and its output ends; `env` is its whole environment.
 * `input`, when given, is written to its stdin (then closed); otherwise stdin is /dev/null.
 */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const stdin = input === undefined ? 'ignore' : 'pipe';
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: [stdin, 'pipe', 'pipe'] });
    if (input !== undefined) child.stdin?.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ServerOptions {
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  /** Give the admin key in a key file (mode 0600, next to the data dir) instead of HOURGLASS_ADMIN_KEY. */
  adminKeyFile?: boolean;
  /**
   * Start as a new user does, with no operator key: the server generates one and a `default` tenant, and
   * `adminKey` is the generated key, read from what the server prints.
   */
  generatedAdminKey?: boolean;
  /** Options for node itself, before the script (a bench's --cpu-prof). */
  nodeArgs?: string[];
}

/**
 * A fresh operator admin key of 128 random bits. The server refuses about 3 in 100,000 of them as looking
 * non-random (a run like `abcdef`); those are drawn again, so that no test start fails by chance.
 */
function newAdminKey(): string {
  for (;;) {
    const key = `hg_test_admin_${randomBytes(16).toString('hex')}`;
    if (estimateKeyBits(key) >= MIN_ADMIN_KEY_BITS) return key;
  }
}

/** A tenant made by createTenant: its id, and a key for it with that key's id. */
export interface TestTenant {
  id: string;
  key: string;
  keyId: string;
}

export class ServerProcess {
  private constructor(
    readonly url: string,
    /** `http://host:port/metrics` on the metrics port, as the banner prints it; '' without --metrics-port. */
    readonly metricsUrl: string,
    readonly adminKey: string,
    readonly dataDir: string,
    private readonly child: ChildProcess,
    private readonly ownsDataDir: boolean,
    readonly output: { stdout: string; stderr: string },
  ) {}

  static async start(options: ServerOptions = {}): Promise<ServerProcess> {
    const ownsDataDir = options.dataDir === undefined;
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'hourglass-test-'));
    const adminKey = newAdminKey();
    const keyFile = `${dataDir}.admin-key`;
    if (options.adminKeyFile === true) writeFileSync(keyFile, `${adminKey}\n`, { mode: 0o600 });
    let keyEnv: Record<string, string> =
      options.adminKeyFile === true
        ? { HOURGLASS_ADMIN_KEY_FILE: keyFile }
        : { HOURGLASS_ADMIN_KEY: adminKey };
    if (options.generatedAdminKey === true) keyEnv = { HOURGLASS_ADMIN_KEY: '' };
    const child = spawn(
      process.execPath,
      [
        ...(options.nodeArgs ?? []),
        CLI,
        'server',
        '--port',
        '0',
        '--data-dir',
        dataDir,
        '--kill-grace-ms',
        '300',
        ...(options.args ?? []),
      ],
      {
        env: {
          ...process.env,
          ...keyEnv,
          HOURGLASS_LOG_LEVEL: 'warn',
          // Beside the data dir, so that a test's containers and image cache go with it.
          HOURGLASS_CONTAINER_DIR: `${dataDir}.containers`,
          ...options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const output = { stdout: '', stderr: '' };
    const wantsMetrics =
      (options.args ?? []).includes('--metrics-port') ||
      options.env?.['HOURGLASS_METRICS_PORT'] !== undefined;
    child.stderr?.on('data', (d: Buffer) => (output.stderr += d.toString()));
    const url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL'); // never leave a half-started server behind
        reject(new Error(`server did not start: ${output.stderr}${output.stdout}`));
      }, 15_000);
      child.stdout?.on('data', (d: Buffer) => {
        output.stdout += d.toString();
        const match = /listening on (http:\/\/\S+)\s/.exec(output.stdout);
        // The banner may come in more than one piece: a generated key is waited for.
        const complete =
          (options.generatedAdminKey !== true || /admin key: hg_\S+\s/.test(output.stdout)) &&
          (!wantsMetrics || /Metrics: http:\/\/\S+\s/.test(output.stdout));
        if (match?.[1] && complete) {
          clearTimeout(timer);
          resolveUrl(match[1]);
        }
        // A process without the api role (a scheduler or a worker of a distributed deployment): no URL.
        if (/Hourglass is running: .*\n(.*\n){2}/.test(output.stdout)) {
          clearTimeout(timer);
          resolveUrl('');
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}: ${output.stderr}`));
      });
    });
    const printed = /admin key: (hg_\S+)/.exec(output.stdout)?.[1] ?? '';
    const key = options.generatedAdminKey === true ? printed : adminKey;
    const metricsUrl = /Metrics: (http:\/\/\S+)/.exec(output.stdout)?.[1] ?? '';
    return new ServerProcess(url, metricsUrl, key, dataDir, child, ownsDataDir, output);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Graceful stop (SIGTERM), or a crash (SIGKILL) with `kill: true`. Keeps the data dir unless `cleanup`. */
  async stop(options: { kill?: boolean; cleanup?: boolean } = {}): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill(options.kill ? 'SIGKILL' : 'SIGTERM');
      await exited;
    }
    if (options.cleanup ?? this.ownsDataDir) {
      rmSync(this.dataDir, { recursive: true, force: true });
      rmSync(`${this.dataDir}.admin-key`, { force: true });
      rmSync(`${this.dataDir}.containers`, { recursive: true, force: true });
    }
  }

  async request(
    method: string,
    path: string,
    options: { key?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; headers: Headers; body: any; text: string }> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key) headers['authorization'] = `Bearer ${options.key}`;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(this.url + path, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  }

  /**
   * A new tenant and a key for it, through the admin API. It may run host commands (what most tests run)
   * unless `limits` says `allowHostCommands: false`.
   */
  async createTenant(name: string, limits: Record<string, number | boolean> = {}): Promise<TestTenant> {
    const body = { name, limits: { allowHostCommands: true, ...limits } };
    const tenant = await this.request('POST', '/v1/tenants', { key: this.adminKey, body });
    if (tenant.status !== 201) throw new Error(`createTenant: ${tenant.text}`);
    const key = await this.request('POST', `/v1/tenants/${tenant.body.id}/keys`, {
      key: this.adminKey,
      body: {},
    });
    if (key.status !== 201) throw new Error(`createKey: ${key.text}`);
    return { id: tenant.body.id, key: key.body.key, keyId: key.body.id };
  }

  /** POSTs `body` to `path` with `key` and returns what it created; any answer but 201 throws, showing it. */
  async create(key: string, path: string, body: unknown = {}): Promise<any> {
    const res = await this.request('POST', path, { key, body });
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.text}`);
    return res.body;
  }

  /** Polls a run until it reaches one of `statuses` (default: any terminal one). */
  async waitForRun(key: string, runId: string, statuses?: string[], timeoutMs = 20_000): Promise<any> {
    const terminal = statuses ?? ['succeeded', 'failed', 'timed_out', 'oom_killed', 'cancelled', 'lost'];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await this.request('GET', `/v1/runs/${runId}`, { key });
      if (terminal.includes(run.body?.status)) return run.body;
      if (Date.now() > deadline)
        throw new Error(`run ${runId} still ${run.body?.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
