// ScheduleChanges across processes: a schedule created or changed through any API process reaches the
// scheduler node that owns its partition within milliseconds. Every node hears every change and keeps those
// of its own partitions (the engine's filter); the engine's periodic reconciliation from the store's change
// sequence is the safety net for a hint lost on the way.

import type { NatsConnection } from 'nats';
import type { ScheduleChange, ScheduleChanges } from '../../ports/schedule-changes.js';
import { NatsHintChannel } from './nats-hint-channel.js';

export class NatsScheduleChanges implements ScheduleChanges {
  private readonly channel: NatsHintChannel<ScheduleChange>;

  /** `subject`: one per deployment (default `hourglass.schedule-changes`). */
  constructor(connection: NatsConnection, subject = 'hourglass.schedule-changes') {
    this.channel = new NatsHintChannel(connection, subject, parseScheduleChange);
  }

  emit(change: ScheduleChange): void {
    this.channel.emit(change);
  }

  on(listener: (change: ScheduleChange) => void): () => void {
    return this.channel.on(listener);
  }

  close(): void {
    this.channel.close();
  }
}

export function parseScheduleChange(value: unknown): ScheduleChange | null {
  if (typeof value !== 'object' || value === null) return null;
  const { scheduleId, partition } = value as Record<string, unknown>;
  if (typeof scheduleId !== 'string' || scheduleId === '') return null;
  if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0) return null;
  return { scheduleId, partition };
}
