// Latency hints between processes over NATS core publish/subscribe (not JetStream: a hint that is lost only
// delays what the store's polling and reconciliation would find anyway, so it needs no storage). What one
// process emits reaches its own listeners at once, synchronously, as the in-process adapters do, and every
// other process's listeners through the NATS server. A message carries its sender's origin id, so a process
// skips its own copy when the server echoes it back. A message that does not parse as a hint is dropped.

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { headers, type NatsConnection, type Subscription } from 'nats';

const ORIGIN_HEADER = 'Hourglass-Origin';

export class NatsHintChannel<T> {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private readonly origin = randomBytes(8).toString('hex');
  private readonly subscription: Subscription;

  constructor(
    private readonly connection: NatsConnection,
    private readonly subject: string,
    /** The hint from a message's JSON, or null when it is not one. */
    private readonly parse: (value: unknown) => T | null,
  ) {
    this.subscription = connection.subscribe(subject, {
      callback: (error, message) => {
        if (error !== null) return; // the subscription closed: nothing more comes
        if (message.headers?.get(ORIGIN_HEADER) === this.origin) return;
        let hint: T | null = null;
        try {
          hint = this.parse(JSON.parse(new TextDecoder().decode(message.data)));
        } catch {
          hint = null;
        }
        if (hint !== null) this.emitter.emit('hint', hint);
      },
    });
  }

  emit(hint: T): void {
    this.emitter.emit('hint', hint);
    if (this.connection.isClosed()) return;
    const h = headers();
    h.set(ORIGIN_HEADER, this.origin);
    try {
      this.connection.publish(this.subject, new TextEncoder().encode(JSON.stringify(hint)), { headers: h });
    } catch {
      // Not connected just now (the client reconnects): a lost hint only delays, as the port says.
    }
  }

  on(listener: (hint: T) => void): () => void {
    this.emitter.on('hint', listener);
    return () => this.emitter.off('hint', listener);
  }

  /** Stops listening (the connection is the caller's to close). */
  close(): void {
    this.subscription.unsubscribe();
  }
}
