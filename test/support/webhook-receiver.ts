// A real HTTP endpoint on 127.0.0.1 for webhook tests: records every request (headers, body, arrival time)
// and answers what the test scripts, request by request. Each test stops its receiver.

import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What to answer request n (0-based): a status, with headers, or a hand-written reply. */
export type Answer = { status: number; headers?: Record<string, string> } | ((res: ServerResponse) => void);

export class WebhookReceiver {
  readonly received: ReceivedRequest[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    /** Answer per request; past the script's end, its last entry (default 200). */
    public script: Answer[],
  ) {}

  static async start(script: Answer[] = [{ status: 200 }]): Promise<WebhookReceiver> {
    let self: WebhookReceiver | null = null;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => self?.handle(req.headers, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new WebhookReceiver(server, (server.address() as AddressInfo).port, script);
    return self;
  }

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  private handle(headers: IncomingHttpHeaders, body: string, res: ServerResponse): void {
    const n = this.received.length;
    this.received.push({ headers, body, at: Date.now() });
    const answer = this.script[Math.min(n, this.script.length - 1)] ?? { status: 200 };
    if (typeof answer === 'function') answer(res);
    else res.writeHead(answer.status, answer.headers).end('ok');
    for (const waiter of [...this.waiters]) {
      if (this.received.length >= waiter.count) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve();
      }
    }
  }

  /** Resolves once `count` requests have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs = 10_000): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`receiver got ${this.received.length} of ${count} requests`)),
        timeoutMs,
      );
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** The webhook headers of request n, as standardwebhooks' verify takes them. */
  signatureHeaders(n: number): Record<string, string> {
    const h = this.received[n]?.headers ?? {};
    return {
      'webhook-id': String(h['webhook-id']),
      'webhook-timestamp': String(h['webhook-timestamp']),
      'webhook-signature': String(h['webhook-signature']),
    };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
