// RunSignals across processes: a cancel requested through one API process reaches the worker that holds the
// run at once; a run finished on a worker reaches the API process that follows its log.

import type { NatsConnection } from 'nats';
import type { RunSignal, RunSignals } from '../../ports/run-events.js';
import { NatsHintChannel } from './nats-hint-channel.js';

const TYPES = new Set<RunSignal['type']>(['cancel_requested', 'finished', 'queued']);

export class NatsRunSignals implements RunSignals {
  private readonly channel: NatsHintChannel<RunSignal>;

  /** `subject`: one per deployment (default `hourglass.run-signals`), so that two clusters never mix. */
  constructor(connection: NatsConnection, subject = 'hourglass.run-signals') {
    this.channel = new NatsHintChannel(connection, subject, parseRunSignal);
  }

  emit(signal: RunSignal): void {
    this.channel.emit(signal);
  }

  on(listener: (signal: RunSignal) => void): () => void {
    return this.channel.on(listener);
  }

  close(): void {
    this.channel.close();
  }
}

export function parseRunSignal(value: unknown): RunSignal | null {
  if (typeof value !== 'object' || value === null) return null;
  const { type, runId } = value as Record<string, unknown>;
  if (typeof type !== 'string' || !TYPES.has(type as RunSignal['type'])) return null;
  if (typeof runId !== 'string' || runId === '') return null;
  return { type: type as RunSignal['type'], runId };
}
