// How a QueueMessage travels in JetStream: JSON in the payload, on its tenant's subject, with the
// `Nats-Msg-Id` the stream deduplicates by — the run id, the attempt and when it is available. So a second
// publish of one dispatch (a publish retried, the outbox sweep republishing a message that was not lost
// after all) is dropped within the dedup window, while a retry (the next attempt) and a release (the same
// attempt, available again from its release) are new messages: a release deduped against its first publish
// would wait out the window.

import type { QueueMessage } from '../../ports/queue.js';
import { HourglassError } from '../../core/errors.js';

/** What a subject token may hold (no `.`, wildcards or spaces); every tenant id the core makes fits. */
const SUBJECT_TOKEN = /^[A-Za-z0-9_-]+$/;

export function subjectOf(prefix: string, message: QueueMessage): string {
  if (!SUBJECT_TOKEN.test(message.tenantId)) {
    throw new HourglassError(
      'internal',
      `tenant id ${JSON.stringify(message.tenantId)} cannot be a NATS subject token (run ${message.runId})`,
      { runId: message.runId },
    );
  }
  return `${prefix}.${message.tenantId}`;
}

export function msgIdOf(message: QueueMessage): string {
  return `${message.runId}:${message.attempt}:${message.availableAt}`;
}

export function encodeMessage(message: QueueMessage): string {
  const { runId, tenantId, attempt, memoryMb, memoryRequestMb, availableAt } = message;
  return JSON.stringify({ runId, tenantId, attempt, memoryMb, memoryRequestMb, availableAt });
}

/** The message a payload holds, frozen; null when it is not one (written by something else). */
export function decodeMessage(data: Uint8Array): Readonly<QueueMessage> | null {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { runId, tenantId, attempt, memoryMb, memoryRequestMb, availableAt } = value as Record<
    string,
    unknown
  >;
  if (typeof runId !== 'string' || typeof tenantId !== 'string') return null;
  const numbers = [attempt, memoryMb, memoryRequestMb, availableAt];
  if (!numbers.every((n) => typeof n === 'number' && Number.isFinite(n))) return null;
  return Object.freeze({
    runId,
    tenantId,
    attempt: attempt as number,
    memoryMb: memoryMb as number,
    memoryRequestMb: memoryRequestMb as number,
    availableAt: availableAt as number,
  });
}
