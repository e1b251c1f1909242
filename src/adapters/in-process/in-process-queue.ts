// The embedded run queue: a RunQueue held in this process's memory, for `hourglass server` with all roles in
// one process. It is not durable (`durable` false): at start the dispatch sweep publishes the store's queued
// runs into it again.
//
// It owns every message it has been given, each in exactly one state:
//
//   publish ──▶ delayed (availableAt in the future) ──(its time comes)──▶ ready (FIFO per tenant)
//                                                                          │ pull
//                         nak(delay) ◀────────────── in flight ◀───────────┘
//                                                       │ ack
//                                                       ▼
//                                                     gone (its run id may be published again)
//
// A run id that is delayed, ready or in flight is "known": publishing it again is ignored (dedup by run id).
// Discarding a run (cancelled before its time) removes it while delayed; ready or in flight, it stays, and the
// worker's claim refuses it.
// One timer is armed on the earliest delayed message; pullers waiting on an empty queue are woken in order.
//
// Ready messages are handed out one tenant at a time, in turn: each tenant's own in the order they became ready,
// and the tenants with ready messages round robin. So a tenant with a thousand runs ready takes one pull slot
// in each round, not the next thousand, and a backlog of one tenant does not hold back the others' runs.

import type { Clock } from '../../ports/clock.js';
import type { Delivery, QueueMessage, RunQueue } from '../../ports/queue.js';

interface Waiter {
  max: number;
  resolve(deliveries: Delivery[]): void;
}

/** setTimeout cannot wait longer than this (about 24.8 days); a longer delay just re-arms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A first-in, first-out line over an array; the consumed prefix is dropped once it is half the array. */
class Line<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

export class InProcessQueue implements RunQueue {
  readonly durable = false;
  private readonly clock: Clock;
  /**
   * Every message held — delayed, ready or in flight — by run id. A delivery is still in flight while its
   * message is the one held here: a nak holds a new object, an ack removes it.
   */
  private readonly known = new Map<string, QueueMessage>();
  /** Ready messages by tenant, each in the order it became ready; a tenant is here only while it has some. */
  private readonly ready = new Map<string, Line<QueueMessage>>();
  /** The tenants with ready messages, in turn order: the next message comes from the first. */
  private readonly turns = new Line<string>();
  private readyTotal = 0;
  /** Sorted by availableAt, earliest first; equal times keep publish order. */
  private readonly delayed: QueueMessage[] = [];
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private closed = false;

  constructor(options: { clock: Clock }) {
    this.clock = options.clock;
  }

  async publish(messages: QueueMessage[]): Promise<void> {
    if (this.closed) return;
    const now = this.clock.now();
    for (const message of messages) {
      if (this.known.has(message.runId)) continue;
      // One copy per publish: the publisher's object stays its own, and its delivery hands out this one
      // (read-only by type; freezing each would cost more than the rest of the publish).
      const held = { ...message };
      this.known.set(message.runId, held);
      this.enqueue(held, now);
    }
    this.afterChange();
  }

  async pull(max: number, waitMs: number, signal?: AbortSignal): Promise<Delivery[]> {
    this.promoteDue();
    if (this.readyCount() > 0 || this.closed || max < 1 || signal?.aborted) return this.take(max);
    return new Promise<Delivery[]>((resolve) => {
      const finish = (deliveries: Delivery[]): void => {
        clearTimeout(timeout);
        signal?.removeEventListener('abort', onAbort);
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        resolve(deliveries);
      };
      const onAbort = (): void => finish([]);
      const waiter: Waiter = { max, resolve: finish };
      const timeout = setTimeout(onAbort, Math.max(0, waitMs));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  async depth(): Promise<number> {
    return this.known.size;
  }

  async discard(runIds: readonly string[]): Promise<void> {
    for (const runId of runIds) {
      const held = this.known.get(runId);
      if (held === undefined) continue;
      const index = this.delayedIndexOf(held);
      if (index < 0) continue;
      this.delayed.splice(index, 1);
      this.known.delete(runId);
    }
    this.arm();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.disarm();
    for (const waiter of [...this.waiters]) waiter.resolve([]);
  }

  private enqueue(message: QueueMessage, now: number): void {
    if (message.availableAt <= now) {
      this.makeReady(message);
      return;
    }
    // Binary search for the first entry due strictly later, so equal times stay in publish order.
    let lo = 0;
    let hi = this.delayed.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.delayed[mid] as QueueMessage).availableAt <= message.availableAt) lo = mid + 1;
      else hi = mid;
    }
    this.delayed.splice(lo, 0, message);
  }

  /** Where `message` itself is in the delayed list, or -1: a binary search to its time, then a scan of its ties. */
  private delayedIndexOf(message: QueueMessage): number {
    let lo = 0;
    let hi = this.delayed.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.delayed[mid] as QueueMessage).availableAt < message.availableAt) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.delayed.length; i++) {
      const entry = this.delayed[i] as QueueMessage;
      if (entry === message) return i;
      if (entry.availableAt !== message.availableAt) break;
    }
    return -1;
  }

  /** Moves every delayed message whose time has come to the ready list. */
  private promoteDue(): void {
    const now = this.clock.now();
    let due = 0;
    while (due < this.delayed.length && (this.delayed[due] as QueueMessage).availableAt <= now) due++;
    if (due === 0) return;
    for (const message of this.delayed.splice(0, due)) this.makeReady(message);
  }

  private makeReady(message: QueueMessage): void {
    let line = this.ready.get(message.tenantId);
    if (line === undefined) {
      line = new Line();
      this.ready.set(message.tenantId, line);
      this.turns.push(message.tenantId);
    }
    line.push(message);
    this.readyTotal++;
  }

  /** Serves waiting pullers in order, then re-arms the timer for the earliest delayed message. */
  private afterChange(): void {
    this.promoteDue();
    while (this.waiters.length > 0 && this.readyCount() > 0) {
      const waiter = this.waiters[0] as Waiter;
      waiter.resolve(this.take(waiter.max));
    }
    this.arm();
  }

  private arm(): void {
    const earliest = this.delayed[0];
    if (this.closed || earliest === undefined) {
      this.disarm();
      return;
    }
    if (this.timer !== null && this.timerAt <= earliest.availableAt) return;
    this.disarm();
    const waitMs = Math.min(Math.max(0, earliest.availableAt - this.clock.now()), MAX_TIMER_MS);
    this.timerAt = earliest.availableAt;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.afterChange();
    }, waitMs);
    // The queue alone must not keep the process alive; whoever waits on it does.
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private readyCount(): number {
    return this.readyTotal;
  }

  /** Up to `max` ready messages, one from each tenant in turn. */
  private take(max: number): Delivery[] {
    const deliveries: Delivery[] = [];
    while (deliveries.length < max) {
      const tenantId = this.turns.shift();
      if (tenantId === undefined) break;
      const line = this.ready.get(tenantId) as Line<QueueMessage>;
      deliveries.push(new InProcessDelivery(this, line.shift() as QueueMessage));
      this.readyTotal--;
      // Its next message waits for the other tenants' turns.
      if (line.length > 0) this.turns.push(tenantId);
      else this.ready.delete(tenantId);
    }
    return deliveries;
  }

  /**
   * Settles a delivery (ack or nak) whose message is still in flight; a second ack/nak of the same delivery,
   * or one after the message was published again, does nothing.
   */
  settle(message: QueueMessage, outcome: 'ack' | { nakDelayMs: number }): void {
    if (this.known.get(message.runId) !== message) return;
    if (outcome === 'ack' || this.closed) {
      this.known.delete(message.runId);
      return;
    }
    const now = this.clock.now();
    const held = { ...message, availableAt: now + Math.max(0, outcome.nakDelayMs) };
    this.known.set(message.runId, held);
    this.enqueue(held, now);
    this.afterChange();
  }
}

const settled: Promise<void> = Promise.resolve();

/** A message handed to a puller: two fields and no closures, since a burst hands out 100,000 at once. */
class InProcessDelivery implements Delivery {
  constructor(
    private readonly queue: InProcessQueue,
    readonly message: QueueMessage,
  ) {}

  ack(): Promise<void> {
    this.queue.settle(this.message, 'ack');
    return settled;
  }

  nak(delayMs: number): Promise<void> {
    this.queue.settle(this.message, { nakDelayMs: delayMs });
    return settled;
  }
}
