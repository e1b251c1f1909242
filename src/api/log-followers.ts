// Live log streams (GET /v1/runs/{id}/logs?follow=true). Each stream sends its headers at once, then the log
// as it grows, and ends once the run has ended and every byte written has been sent. This module owns the open
// streams: a stream is open → ending (run over, client gone, key revoked, or server closing) → ended.
//
// Streams are capped, per tenant and in all, in this API process: a stream costs a connection, a poll of the
// log every POLL_MS (IDLE_POLL_MS while quiet) and of the run every STATUS_POLL_MS, so one tenant's thousands
// would slow every other tenant's requests. Past a cap a new stream is refused with 429 `too_many_streams`; open ones are untouched.
//
// A stream lives on after its request was authenticated, so the keys of open streams are checked again every
// KEY_CHECK_MS, one store read per distinct key (not per stream); a stream whose key was revoked is cut off.
// Ended by revocation, a stream's connection is destroyed without the final chunk: its client sees a broken
// stream, never what looks like a complete log. Ended by the server closing, a stream sends what it has, ends,
// and closes its connection, which a keep-alive client would otherwise hold open.

import { once } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HourglassError } from '../core/errors.js';
import { isTerminal } from '../core/run-state.js';
import type { LogStore } from '../ports/log-store.js';
import type { RunSignals } from '../ports/run-events.js';
import type { ApiKeyStore } from '../ports/store/api-key-store.js';
import type { RunStore } from '../ports/store/run-store.js';

const LOG_CHUNK_BYTES = 64 * 1024;
/**
 * How often a stream checks for new output: every POLL_MS while the run prints, backing off to IDLE_POLL_MS
 * while it prints nothing (most open streams, most of the time). A `finished` signal wakes it at once.
 */
const POLL_MS = 250;
const IDLE_POLL_MS = 1000;
/** How often an idle stream reads its run's status from the store (the signal is only a hint). */
const STATUS_POLL_MS = 1000;
/** How often the keys of open streams are checked for revocation: a revoked key's streams end within this. */
export const KEY_CHECK_MS = 1000;

export interface LogFollowLimits {
  /** Most open streams of one tenant. */
  perTenant: number;
  /** Most open streams in this API process. */
  total: number;
}

export interface LogFollowerDeps {
  store: ApiKeyStore & RunStore;
  logs: LogStore;
  signals: RunSignals;
  followLimits: LogFollowLimits;
}

export interface Follower {
  tenantId: string;
  keyId: string;
}

interface OpenStream extends Follower {
  /** Aborted when the stream must end; the reason says why. */
  stop: AbortController;
}

type StopReason = 'client_gone' | 'server_closing' | 'key_revoked';

export class LogFollowers {
  private readonly serverClosing = new AbortController();
  private readonly open = new Set<OpenStream>();
  private readonly openByTenant = new Map<string, number>();
  private readonly ending = new Set<Promise<void>>();
  private keyTimer: NodeJS.Timeout | null = null;
  private checkingKeys = false;

  constructor(private readonly deps: LogFollowerDeps) {}

  /**
   * Takes over the reply and streams the run's log until the run ends; refuses with 429 `too_many_streams`
   * (before taking over) when the tenant or the server has as many streams open as it may.
   */
  follow(request: FastifyRequest, reply: FastifyReply, follower: Follower, runId: string): void {
    this.admit(follower.tenantId);
    const entry: OpenStream = { ...follower, stop: new AbortController() };
    this.open.add(entry);
    this.openByTenant.set(entry.tenantId, (this.openByTenant.get(entry.tenantId) ?? 0) + 1);
    this.keyTimer ??= setInterval(() => void this.checkKeys(), KEY_CHECK_MS).unref();
    reply.hijack();
    const streaming = this.stream(request, reply, entry, runId).finally(() => {
      this.ending.delete(streaming);
      this.release(entry);
    });
    this.ending.add(streaming);
  }

  /** Streams open now (of one tenant, or in all). */
  count(tenantId?: string): number {
    return tenantId === undefined ? this.open.size : (this.openByTenant.get(tenantId) ?? 0);
  }

  /** Ends every open stream (each sends what it has first) and resolves when they have ended. */
  async closeAll(): Promise<void> {
    this.serverClosing.abort();
    for (const entry of this.open) entry.stop.abort('server_closing' satisfies StopReason);
    await Promise.allSettled([...this.ending]);
  }

  private admit(tenantId: string): void {
    const { perTenant, total } = this.deps.followLimits;
    if ((this.openByTenant.get(tenantId) ?? 0) >= perTenant) {
      throw new HourglassError(
        'too_many_streams',
        `this tenant has ${perTenant} log streams open, the most it may; end one, or read the log without follow`,
        { limit: 'maxLogFollowsPerTenant', retryAfterMs: KEY_CHECK_MS },
      );
    }
    if (this.open.size >= total) {
      throw new HourglassError(
        'too_many_streams',
        `the server has ${total} log streams open, the most it serves; try again shortly, or read without follow`,
        { limit: 'maxLogFollows', retryAfterMs: KEY_CHECK_MS },
      );
    }
  }

  private release(entry: OpenStream): void {
    if (!this.open.delete(entry)) return;
    const left = (this.openByTenant.get(entry.tenantId) ?? 1) - 1;
    if (left > 0) this.openByTenant.set(entry.tenantId, left);
    else this.openByTenant.delete(entry.tenantId);
    if (this.open.size === 0 && this.keyTimer !== null) {
      clearInterval(this.keyTimer);
      this.keyTimer = null;
    }
  }

  /** One read per distinct key of the open streams; the streams of a revoked (or vanished) key are stopped. */
  private async checkKeys(): Promise<void> {
    if (this.checkingKeys) return;
    this.checkingKeys = true;
    try {
      const keyIds = new Set([...this.open].map((entry) => entry.keyId));
      for (const keyId of keyIds) {
        const key = await this.deps.store.getApiKey(keyId);
        if (key !== null && key.revokedAt === null) continue;
        for (const entry of this.open) {
          if (entry.keyId === keyId) entry.stop.abort('key_revoked' satisfies StopReason);
        }
      }
    } catch {
      // A failed check is retried at the next tick; the streams carry on meanwhile.
    } finally {
      this.checkingKeys = false;
    }
  }

  private async stream(request: FastifyRequest, reply: FastifyReply, entry: OpenStream, runId: string) {
    const res = reply.raw;
    const socket = res.socket;
    const { stop } = entry;
    // Sent now, not with the first byte of output: a client learns at once that the stream is open, even
    // when the run prints nothing for a long time.
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.flushHeaders();
    const onClose = () => stop.abort('client_gone' satisfies StopReason);
    res.on('close', onClose);
    if (this.serverClosing.signal.aborted) stop.abort('server_closing' satisfies StopReason);
    try {
      for await (const chunk of this.chunks(entry.tenantId, runId, stop.signal)) {
        if (!res.write(chunk)) await once(res, 'drain', { signal: stop.signal });
      }
      if (stop.signal.reason === 'key_revoked') {
        res.destroy();
        return;
      }
      if (this.serverClosing.signal.aborted) res.once('finish', () => socket?.end());
      res.end();
    } catch (error) {
      // Also the way out for a stream stopped while it waited for a slow client to take what it was sent.
      if (!stop.signal.aborted) request.log.error({ err: error, runId }, 'log follow failed');
      res.destroy();
    } finally {
      res.off('close', onClose);
    }
  }

  private async *chunks(tenantId: string, runId: string, stop: AbortSignal): AsyncGenerator<Buffer> {
    const { logs, store, signals } = this.deps;
    let offset = 0;
    let wake: (() => void) | null = null;
    let finished = false;
    let nextStatusAt = 0;
    let pollMs = POLL_MS;
    const unsubscribe = signals.on((signal) => {
      if (signal.runId !== runId || signal.type !== 'finished') return;
      finished = true;
      wake?.();
    });
    const onStop = () => wake?.();
    stop.addEventListener('abort', onStop);
    try {
      while (!stop.aborted) {
        const chunk = await logs.read(runId, offset, LOG_CHUNK_BYTES);
        if (stop.aborted) return;
        if (chunk.data.length > 0) {
          offset = chunk.nextOffset;
          pollMs = POLL_MS;
          yield chunk.data;
          continue;
        }
        if (finished || Date.now() >= nextStatusAt) {
          const run = await store.getRun(tenantId, runId);
          if (run === null || isTerminal(run.status)) {
            // The worker closes the log before recording the end, so reading on now sees the last bytes.
            if (stop.reason !== 'key_revoked') yield* this.rest(runId, offset, stop);
            return;
          }
          nextStatusAt = Date.now() + STATUS_POLL_MS;
        }
        const waitMs = pollMs;
        pollMs = Math.min(IDLE_POLL_MS, pollMs * 2);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
          if (stop.aborted) wake();
        });
        wake = null;
      }
    } finally {
      unsubscribe();
      stop.removeEventListener('abort', onStop);
    }
  }

  private async *rest(runId: string, from: number, stop: AbortSignal): AsyncGenerator<Buffer> {
    for (let offset = from; stop.reason !== 'key_revoked';) {
      const chunk = await this.deps.logs.read(runId, offset, LOG_CHUNK_BYTES);
      if (chunk.data.length === 0) return;
      offset = chunk.nextOffset;
      yield chunk.data;
    }
  }
}
