// Live log streams (GET /v1/runs/{id}/logs?follow=true). Each stream sends the log as it grows and ends once
// the run has ended and every byte written has been sent. This module owns the open streams so that the
// server can end them when it closes: a stream is open → ending (run over, client gone, or server closing)
// → ended. Ended by the server, a stream also closes its connection, which a keep-alive client would
// otherwise hold open.

import { once } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTerminal } from '../core/run-state.js';
import type { LogStore } from '../ports/log-store.js';
import type { RunSignals } from '../ports/run-events.js';
import type { Store } from '../ports/store.js';

const LOG_CHUNK_BYTES = 64 * 1024;
/** How often a stream checks for new output and the run's status; a `finished` signal wakes it sooner. */
const POLL_MS = 250;

export interface LogFollowerDeps {
  store: Store;
  logs: LogStore;
  signals: RunSignals;
}

export class LogFollowers {
  private readonly serverClosing = new AbortController();
  private readonly open = new Set<Promise<void>>();

  constructor(private readonly deps: LogFollowerDeps) {}

  /** Takes over the reply and streams the run's log until the run ends. */
  follow(request: FastifyRequest, reply: FastifyReply, tenantId: string, runId: string): void {
    reply.hijack();
    const streaming = this.stream(request, reply, tenantId, runId).finally(() => this.open.delete(streaming));
    this.open.add(streaming);
  }

  /** Ends every open stream (each sends what it has first) and resolves when they have ended. */
  async closeAll(): Promise<void> {
    this.serverClosing.abort();
    await Promise.allSettled([...this.open]);
  }

  private async stream(request: FastifyRequest, reply: FastifyReply, tenantId: string, runId: string) {
    const res = reply.raw;
    const socket = res.socket;
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    const stop = new AbortController();
    const onStop = () => stop.abort();
    res.on('close', onStop);
    this.serverClosing.signal.addEventListener('abort', onStop, { once: true });
    if (this.serverClosing.signal.aborted) stop.abort();
    try {
      for await (const chunk of this.chunks(tenantId, runId, stop.signal)) {
        if (!res.write(chunk)) await once(res, 'drain', { signal: stop.signal });
      }
      if (this.serverClosing.signal.aborted) res.once('finish', () => socket?.end());
      res.end();
    } catch (error) {
      if (!stop.signal.aborted) request.log.error({ err: error, runId }, 'log follow failed');
      res.destroy();
    } finally {
      this.serverClosing.signal.removeEventListener('abort', onStop);
    }
  }

  private async *chunks(tenantId: string, runId: string, stop: AbortSignal): AsyncGenerator<Buffer> {
    const { logs, store, signals } = this.deps;
    let offset = 0;
    let wake: (() => void) | null = null;
    const unsubscribe = signals.on((signal) => {
      if (signal.runId === runId && signal.type === 'finished') wake?.();
    });
    const onStop = () => wake?.();
    stop.addEventListener('abort', onStop);
    try {
      while (!stop.aborted) {
        const chunk = await logs.read(runId, offset, LOG_CHUNK_BYTES);
        if (chunk.data.length > 0) {
          offset = chunk.nextOffset;
          yield chunk.data;
          continue;
        }
        const run = await store.getRun(tenantId, runId);
        if (run === null || isTerminal(run.status)) {
          // The worker closes the log before recording the end, so reading on now sees the last bytes.
          yield* this.rest(runId, offset);
          return;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
    } finally {
      unsubscribe();
      stop.removeEventListener('abort', onStop);
    }
  }

  private async *rest(runId: string, from: number): AsyncGenerator<Buffer> {
    for (let offset = from; ;) {
      const chunk = await this.deps.logs.read(runId, offset, LOG_CHUNK_BYTES);
      if (chunk.data.length === 0) return;
      offset = chunk.nextOffset;
      yield chunk.data;
    }
  }
}
