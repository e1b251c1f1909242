// The distributed run queue: a RunQueue over a NATS JetStream work-queue stream (jetstream-setup.ts), for
// roles in separate processes. Each instance is one connection; every worker's instance pulls from the same
// durable consumer, so each message is handed to one puller at a time.
//
// A message, as the server keeps it:
//
//   publish ──▶ stored (dedup by run id and attempt) ──pull──▶ delivered ──ack──▶ removed from the stream
//                    ▲                                            │ nak(delay), or neither within the ack wait
//                    └──────────── redelivered after that ◀───────┘
//
// Messages are not held back by the server until their `availableAt`: one pulled early is nak'ed with the
// time it still has to wait, and comes back then (producers publish at most the scheduler's lead ahead, so
// this costs a delivery or two, not a year of redeliveries). A pull asks first for what is ready, then, if
// nothing was, waits for one message (jetstream-pull.ts), so it never takes more than `max` nor waits for a
// full batch. Settling is confirmed by the server (a request, not a bare publish): an ack that resolves has
// removed the message. After close(), ack and nak do nothing: the server hands an unsettled delivery out
// again once the ack wait passes. There is no discard(): waiting messages are due within the lead anyway,
// and a cancelled run's message is refused by the worker's claim and acked.

import { connect, type JetStreamClient, type JetStreamManager, type Msg, type NatsConnection } from 'nats';
import { HourglassError } from '../../core/errors.js';
import type { Clock } from '../../ports/clock.js';
import type { Delivery, QueueMessage, RunQueue } from '../../ports/queue.js';
import { JS_CONSUMER_NOT_FOUND, jetStreamErrorCode, natsFailure } from './jetstream-errors.js';
import { decodeMessage, encodeMessage, msgIdOf, subjectOf } from './jetstream-message.js';
import { requestMessages } from './jetstream-pull.js';
import {
  resolveJetStreamQueueOptions,
  type JetStreamQueueOptions,
  type ResolvedJetStreamQueueOptions,
} from './jetstream-queue-options.js';
import { ensureConsumer, ensureStream } from './jetstream-setup.js';

/** Publishes awaiting their acknowledgement at once: enough to fill the pipe, not a whole burst's memory. */
const PUBLISH_WINDOW = 1000;
/** A message that is not a QueueMessage is removed for good (+TERM): no worker could claim it. */
const TERM = '+TERM';

type PullShape = { batch: number; expiresMs: number | null };

export class JetStreamRunQueue implements RunQueue {
  /** Messages are in the stream, on the server's disk: they outlive every process of ours. */
  readonly durable = true;
  private readonly pullSubject: string;
  private readonly js: JetStreamClient;
  private readonly closing = new AbortController();
  private closed: Promise<void> | null = null;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    readonly options: ResolvedJetStreamQueueOptions,
    private readonly clock: Clock,
  ) {
    this.js = nc.jetstream({ timeout: options.requestTimeoutMs });
    this.pullSubject = `$JS.API.CONSUMER.MSG.NEXT.${options.stream}.${options.consumer}`;
  }

  /** Connects, and creates the stream and the consumer if they are missing (checks them if not). */
  static async open(options: JetStreamQueueOptions, deps: { clock: Clock }): Promise<JetStreamRunQueue> {
    const resolved = resolveJetStreamQueueOptions(options);
    const where = `NATS at ${resolved.servers.join(', ')}`;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: [...resolved.servers],
        name: resolved.connectionName,
        timeout: resolved.requestTimeoutMs,
        // A worker outlives a server restart: it reconnects for as long as it runs.
        maxReconnectAttempts: -1,
        // Every publish is a request; with async traces on, each request also captures two stack traces
        // (an Error made ahead for a timeout that almost never comes): in a firing scheduler's CPU profile, these
        // and the request timer fell from 18 % to 4 % of its samples without them.
        noAsyncTraces: true,
      });
    } catch (error) {
      throw natsFailure(error, `connecting to ${where}`);
    }
    try {
      const jsm = await nc.jetstreamManager({ timeout: resolved.requestTimeoutMs });
      await ensureStream(jsm, resolved);
      await ensureConsumer(jsm, resolved);
      return new JetStreamRunQueue(nc, jsm, resolved, deps.clock);
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw natsFailure(error, `opening the run queue on ${where}`);
    }
  }

  async publish(messages: QueueMessage[]): Promise<void> {
    if (this.closed !== null) throw new HourglassError('unavailable', 'the JetStream run queue is closed');
    // Every subject first, so a bad one publishes nothing of the batch.
    const subjects = messages.map((message) => subjectOf(this.options.subjectPrefix, message));
    const expect = { streamName: this.options.stream };
    try {
      for (let from = 0; from < messages.length; from += PUBLISH_WINDOW) {
        const window = messages.slice(from, from + PUBLISH_WINDOW);
        // A publish resolves once the stream has stored it (or found it a duplicate).
        await Promise.all(
          window.map((message, i) =>
            this.js.publish(subjects[from + i] as string, encodeMessage(message), {
              msgID: msgIdOf(message),
              expect,
            }),
          ),
        );
      }
    } catch (error) {
      // Some of the batch may be stored: publishing it again within the dedup window stores the rest only.
      throw natsFailure(error, `publishing ${messages.length} runs to stream ${this.options.stream}`);
    }
  }

  async pull(max: number, waitMs: number, signal?: AbortSignal): Promise<Delivery[]> {
    if (max < 1 || this.closed !== null || signal?.aborted) return [];
    const stop = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    const deadline = this.clock.monotonic() + Math.max(0, waitMs);
    const deliveries: Delivery[] = [];
    let waitForOne = false; // first take what is ready now, without waiting
    while (!stop.aborted && this.closed === null) {
      const left = deadline - this.clock.monotonic();
      if (waitForOne && left < 1) break;
      const shape = waitForOne
        ? { batch: 1, expiresMs: left }
        : { batch: max - deliveries.length, expiresMs: null };
      this.admit(await this.request(shape, stop), deliveries);
      if (deliveries.length >= max) break;
      if (deliveries.length === 0) waitForOne = true;
      else if (waitForOne)
        waitForOne = false; // one came: take what else is ready with it
      else break;
    }
    return deliveries;
  }

  async depth(): Promise<number> {
    try {
      // Work-queue retention: the stream holds exactly the messages not yet acked.
      return (await this.jsm.streams.info(this.options.stream)).state.messages;
    } catch (error) {
      throw natsFailure(error, `reading the depth of stream ${this.options.stream}`);
    }
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort();
      try {
        await this.nc.close();
      } catch (error) {
        throw natsFailure(error, 'closing the NATS connection');
      }
    })();
    return this.closed;
  }

  /**
   * Settles a delivered message (ack, nak), confirmed by the server. After close it does nothing: the
   * message comes back after the ack wait.
   */
  async settle(msg: Msg, payload: string, doing: string): Promise<void> {
    if (this.closed !== null || msg.reply === undefined) return;
    try {
      await this.nc.request(msg.reply, payload, { timeout: this.options.requestTimeoutMs });
    } catch (error) {
      if (this.closed !== null) return;
      throw natsFailure(error, doing);
    }
  }

  /** Keeps the messages that are due as deliveries; gives back the early ones until their time. */
  private admit(msgs: Msg[], into: Delivery[]): void {
    const now = this.clock.now();
    for (const msg of msgs) {
      const message = decodeMessage(msg.data);
      if (message === null) msg.respond(TERM);
      else if (message.availableAt > now) msg.respond(nakPayload(message.availableAt - now));
      else into.push(new JetStreamDelivery(this, msg, message));
    }
  }

  private async request(shape: PullShape, signal: AbortSignal): Promise<Msg[]> {
    try {
      return await requestMessages(this.nc, this.pullSubject, {
        ...shape,
        signal,
        graceMs: this.options.requestTimeoutMs,
      });
    } catch (error) {
      if (this.closed !== null) return [];
      throw await this.explainPullFailure(error);
    }
  }

  /** A pull to a consumer that does not exist gets no answer at all: say so rather than "no answer". */
  private async explainPullFailure(error: unknown): Promise<HourglassError> {
    const { stream, consumer } = this.options;
    try {
      await this.jsm.consumers.info(stream, consumer);
    } catch (infoError) {
      if (jetStreamErrorCode(infoError) === JS_CONSUMER_NOT_FOUND) {
        return new HourglassError(
          'internal',
          `pulling runs: consumer ${consumer} on stream ${stream} is gone`,
        );
      }
    }
    return natsFailure(error, `pulling runs from consumer ${consumer} on stream ${stream}`);
  }
}

function nakPayload(delayMs: number): string {
  const delay = Math.round(Math.max(0, delayMs));
  return delay === 0 ? '-NAK' : `-NAK ${JSON.stringify({ delay: delay * 1e6 })}`;
}

/** A message handed to a puller; settling it a second time does nothing, as with the in-process queue. */
class JetStreamDelivery implements Delivery {
  private settled = false;

  constructor(
    private readonly queue: JetStreamRunQueue,
    private readonly msg: Msg,
    readonly message: Readonly<QueueMessage>,
  ) {}

  ack(): Promise<void> {
    return this.once('+ACK', 'acking');
  }

  nak(delayMs: number): Promise<void> {
    return this.once(nakPayload(delayMs), 'nak-ing');
  }

  private async once(payload: string, verb: string): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    const { runId, attempt } = this.message;
    await this.queue.settle(this.msg, payload, `${verb} run ${runId} (attempt ${attempt})`);
  }
}
