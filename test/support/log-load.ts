// Load for the log routes, shared by test/security and bench/: a run with a big log on a server without a worker
// (so the run stays queued and its log is what the test wrote), slow readers on raw sockets, and the server's
// resident memory read from /proc.

import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ServerProcess } from './server-process.js';

/** Server flags for these tests: the API alone, so no worker runs (or ends) the runs they read. */
export const API_ONLY = ['--roles', 'api'];

/** The server's resident set size in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** A queued run of an image job for the tenant (it stays queued: the server has no worker). */
export async function queuedRun(server: ServerProcess, key: string, jobName = 'quiet'): Promise<string> {
  const job = await server.request('POST', '/v1/jobs', { key, body: { name: jobName, image: 'busybox:1' } });
  if (job.status !== 201 && job.status !== 409) throw new Error(`create job: ${job.text}`);
  const run = await server.request('POST', `/v1/jobs/${jobName}/runs`, { key, body: {} });
  if (run.status !== 201 && run.status !== 202) throw new Error(`create run: ${run.text}`);
  return run.body.id as string;
}

/**
 * Writes the run's log as the file log store keeps it (`<data>/logs/<runId>.log`): the test stands in for
 * the worker, which this server does not have. Returns the bytes written.
 */
export function writeRunLog(server: ServerProcess, runId: string, bytes: number): Buffer {
  const line = Buffer.from('0123456789abcdef'.repeat(7) + 'xyz\n'); // 116 bytes
  const data = Buffer.alloc(bytes);
  for (let at = 0; at < bytes; at += line.length) line.copy(data, at);
  writeFileSync(join(server.dataDir, 'logs', `${runId}.log`), data);
  return data;
}

/**
 * A client that sends one GET and then reads nothing until told to: the slowest possible reader. It resolves
 * `headers` once the status line has arrived, and counts the body bytes it has taken in.
 */
export class SlowReader {
  readonly headers: Promise<string>;
  private readonly socket: Socket;
  private received = Buffer.alloc(0);
  private headerText: string | null = null;
  private bodyBytes = 0;
  /** The last bytes received, to tell a chunked response's final chunk from a cut-off one. */
  private tail = Buffer.alloc(0);

  constructor(url: string, path: string, key: string) {
    const { hostname, port } = new URL(url);
    this.socket = connect({ host: hostname, port: Number(port) });
    this.socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${key}\r\nConnection: close\r\n\r\n`,
    );
    this.headers = new Promise((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        if (this.headerText !== null) {
          this.bodyBytes += chunk.length;
          this.tail = Buffer.concat([this.tail, chunk]).subarray(-5);
          return;
        }
        this.received = Buffer.concat([this.received, chunk]);
        const end = this.received.indexOf('\r\n\r\n');
        if (end < 0) return;
        this.headerText = this.received.subarray(0, end).toString('latin1');
        this.bodyBytes = this.received.length - end - 4;
        this.tail = this.received.subarray(-5);
        this.received = Buffer.alloc(0);
        // Headers in: from here the reader takes nothing more until `readSome` or `drain`.
        this.socket.pause();
        resolve(this.headerText);
      };
      this.socket.on('data', onData);
      // Kept for the socket's life: a reset after the headers must not be an uncaught error.
      this.socket.on('error', reject);
      this.socket.once('close', () => reject(new Error(`closed before headers: ${path}`)));
    });
    this.headers.catch(() => undefined);
  }

  get body(): number {
    return this.bodyBytes;
  }

  /** Lets about `bytes` more in, then pauses again. */
  async readSome(bytes: number): Promise<void> {
    const target = this.bodyBytes + bytes;
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const check = () => {
        if (this.bodyBytes < target && !this.socket.destroyed) return;
        this.socket.off('data', check);
        this.socket.off('close', check);
        this.socket.pause();
        resolve();
      };
      this.socket.on('data', check);
      this.socket.on('close', check);
      this.socket.resume();
    });
  }

  /** Reads to the end of the response; resolves with the body bytes received (headers excluded). */
  async drain(): Promise<number> {
    if (!this.socket.destroyed) {
      const closed = new Promise((resolve) => this.socket.once('close', resolve));
      this.socket.resume();
      await closed;
    }
    return this.bodyBytes;
  }

  /** Whether a chunked response ended with its final chunk (a stream the server cut off did not). */
  get endedCleanly(): boolean {
    return this.tail.toString('latin1') === '0\r\n\r\n';
  }

  /** Whether the connection is still up (the server has not ended it, nor has this side). */
  get isOpen(): boolean {
    return !this.socket.destroyed && !this.socket.readableEnded;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The status code of an HTTP response head (`HTTP/1.1 200 OK` → 200). */
export function statusOf(headerText: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(headerText)?.[1] ?? NaN);
}
