// Webhook requests over Node's http/https, guarded against server-side request forgery: every connection
// goes through request-filtering-agent, which checks the address actually dialed — after DNS, on each
// connect — and refuses loopback, private, link-local (169.254.169.254), IPv4-mapped IPv6, unspecified and
// every other non-unicast address. A name that resolves (or rebinds) to such an address fails at connect,
// whatever it resolved to before. Only the operator's allow-list (HOURGLASS_WEBHOOK_ALLOW_HOSTS, exact
// `host:port` of the URL) skips the filter. Redirects are never followed: a 3xx is the attempt's answer.
// Each attempt is bounded in time (15 s by default, connect to last byte) and reads at most a few KB of the
// answer, which only its status code and Retry-After matter for.

import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import type { AttemptAnswer } from '../../core/webhook-retry.js';
import { hostPortOf } from '../../core/webhook.js';
import type { WebhookRequest, WebhookSender } from '../../ports/webhook-sender.js';

export const WEBHOOK_TIMEOUT_MS = 15_000;
export const MAX_WEBHOOK_ANSWER_BYTES = 4096;

export interface WebhookHttpClientOptions {
  /** `host:port`s (lower case) dialed without the address filter: the operator's, never a tenant's. */
  allowHosts: readonly string[];
  timeoutMs?: number;
  maxAnswerBytes?: number;
  /** Resolves names instead of dns.lookup (tests: a rebinding resolver). The filter checks what it returns. */
  lookup?: LookupFunction;
}

/**
 * Why a request got no answer, in words for the delivery's lastError, which the tenant reads. Never what a
 * name resolved to, nor the resolver's own message: a tenant must not learn the server's internal names and
 * addresses by pointing webhooks at them. The system's error code alone says what failed (ECONNREFUSED…).
 */
function describeError(error: unknown, timeoutMs: number): string {
  if (!(error instanceof Error)) return 'the request failed';
  if (error.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  if (error.name === 'AbortError') return 'the attempt was stopped';
  if (/is not allowed/.test(error.message)) {
    return 'refused: the address dialed is not a public one (loopback, private, link-local or reserved)';
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the name did not resolve';
  return code === undefined ? 'the request failed' : `the request failed (${code})`;
}

export class WebhookHttpClient implements WebhookSender {
  private readonly allowHosts: ReadonlySet<string>;
  private readonly timeoutMs: number;
  private readonly maxAnswerBytes: number;
  private readonly filteredHttp = new RequestFilteringHttpAgent();
  private readonly filteredHttps = new RequestFilteringHttpsAgent();
  private readonly allowedHttp = new http.Agent();
  private readonly allowedHttps = new https.Agent();

  constructor(private readonly options: WebhookHttpClientOptions) {
    this.allowHosts = new Set(options.allowHosts.map((host) => host.toLowerCase()));
    this.timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
    this.maxAnswerBytes = options.maxAnswerBytes ?? MAX_WEBHOOK_ANSWER_BYTES;
  }

  send(request: WebhookRequest): Promise<AttemptAnswer> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (answer: AttemptAnswer) => {
        if (settled) return;
        settled = true;
        resolve(answer);
      };
      let url: URL;
      try {
        url = new URL(request.url);
      } catch {
        return settle({ kind: 'error', message: 'the URL does not parse' });
      }
      const secure = url.protocol === 'https:';
      if (!secure && url.protocol !== 'http:')
        return settle({ kind: 'error', message: 'not an http(s) URL' });
      const allowed = this.allowHosts.has(hostPortOf(url));
      const agent = secure
        ? allowed
          ? this.allowedHttps
          : this.filteredHttps
        : allowed
          ? this.allowedHttp
          : this.filteredHttp;
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const signal = request.signal === undefined ? timeout : AbortSignal.any([timeout, request.signal]);
      const options: https.RequestOptions = {
        method: 'POST',
        agent,
        signal,
        headers: {
          ...request.headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(request.body)),
          'user-agent': 'Hourglass-Webhooks/1',
        },
        ...(this.options.lookup === undefined ? {} : { lookup: this.options.lookup }),
      };
      const outgoing = (secure ? https : http).request(url, options, (response) => {
        const answer: AttemptAnswer = {
          kind: 'response',
          statusCode: response.statusCode ?? 0,
          retryAfter:
            typeof response.headers['retry-after'] === 'string' ? response.headers['retry-after'] : null,
        };
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          // Enough of it: the status is known, and an endless answer must not hold the attempt.
          if (read > this.maxAnswerBytes) response.destroy();
        });
        response.on('end', () => settle(answer));
        response.on('close', () => settle(answer));
        response.on('error', () => settle(answer));
      });
      outgoing.on('error', (error) =>
        settle({ kind: 'error', message: describeError(error, this.timeoutMs) }),
      );
      outgoing.end(request.body);
    });
  }

  close(): void {
    for (const agent of [this.filteredHttp, this.filteredHttps, this.allowedHttp, this.allowedHttps]) {
      agent.destroy();
    }
  }
}
