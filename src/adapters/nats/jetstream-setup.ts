// The stream and the durable consumer the run queue works on: created when missing, checked when present.
//
// One stream, retention `workqueue` (a message is removed once acked: the stream holds only runs waiting or
// being handed over), file storage (it survives a server restart). Subjects are `<prefix>.<tenant id>`, one
// per tenant, rather than one for all: an operator can see and purge one tenant's backlog
// (`nats stream subjects`, `nats stream purge --subject`), and a consumer per tenant for fair shares can be
// added later without moving any message. The cost is per-subject state in the stream, one entry per tenant
// with something waiting. One durable pull consumer over all of them is shared by every worker: a work-queue
// stream lets only one consumer see a message, and pulling from a shared durable is what spreads the runs.
//
// An existing stream or consumer is not reconfigured (replicas, the dedup window, the ack wait are the
// operator's to tune); only what the queue cannot work without is checked, with an error naming the fix.

import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  nanos,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamInfo,
} from 'nats';
import { HourglassError } from '../../core/errors.js';
import {
  JS_CONSUMER_NOT_FOUND,
  JS_STREAM_NOT_FOUND,
  jetStreamErrorCode,
  natsFailure,
} from './jetstream-errors.js';
import type { ResolvedJetStreamQueueOptions } from './jetstream-queue-options.js';

/** The subjects of every tenant's messages. */
export function subjectsOf(options: ResolvedJetStreamQueueOptions): string {
  return `${options.subjectPrefix}.*`;
}

export async function ensureStream(
  jsm: JetStreamManager,
  options: ResolvedJetStreamQueueOptions,
): Promise<StreamInfo> {
  const doing = `setting up stream ${options.stream}`;
  try {
    const existing = await infoOrNull(() => jsm.streams.info(options.stream), JS_STREAM_NOT_FOUND);
    const info =
      existing ??
      (await jsm.streams.add({
        name: options.stream,
        subjects: [subjectsOf(options)],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        num_replicas: options.replicas,
        duplicate_window: nanos(options.duplicateWindowMs),
        // A full stream refuses new publishes rather than dropping waiting runs.
        discard: DiscardPolicy.New,
      }));
    checkStream(info, options);
    return info;
  } catch (error) {
    throw natsFailure(error, doing);
  }
}

export async function ensureConsumer(
  jsm: JetStreamManager,
  options: ResolvedJetStreamQueueOptions,
): Promise<ConsumerInfo> {
  const doing = `setting up consumer ${options.consumer} on stream ${options.stream}`;
  try {
    const existing = await infoOrNull(
      () => jsm.consumers.info(options.stream, options.consumer),
      JS_CONSUMER_NOT_FOUND,
    );
    const info =
      existing ??
      (await jsm.consumers.add(options.stream, {
        durable_name: options.consumer,
        filter_subject: subjectsOf(options),
        deliver_policy: DeliverPolicy.All,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(options.ackWaitMs),
        // Never given up on: a message nak'ed until its time, or by busy workers, comes back every time.
        max_deliver: -1,
        max_ack_pending: options.maxAckPending,
      }));
    checkConsumer(info, options);
    return info;
  } catch (error) {
    throw natsFailure(error, doing);
  }
}

async function infoOrNull<T>(read: () => Promise<T>, notFoundCode: number): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (jetStreamErrorCode(error) === notFoundCode) return null;
    throw error;
  }
}

function checkStream(info: StreamInfo, options: ResolvedJetStreamQueueOptions): void {
  const { config } = info;
  if (config.retention !== RetentionPolicy.Workqueue) {
    throw misconfigured(
      `stream ${options.stream} has retention "${config.retention}"; the run queue needs "workqueue"`,
    );
  }
  if (!(config.subjects ?? []).includes(subjectsOf(options))) {
    throw misconfigured(
      `stream ${options.stream} does not take subjects ${subjectsOf(options)} (it has ${JSON.stringify(config.subjects)})`,
    );
  }
}

function checkConsumer(info: ConsumerInfo, options: ResolvedJetStreamQueueOptions): void {
  const { config } = info;
  const where = `consumer ${options.consumer} on stream ${options.stream}`;
  if (config.ack_policy !== AckPolicy.Explicit) {
    throw misconfigured(`${where} has ack policy "${config.ack_policy}"; the run queue needs "explicit"`);
  }
  if (config.durable_name !== options.consumer) throw misconfigured(`${where} is not durable`);
  if (config.deliver_subject) throw misconfigured(`${where} is a push consumer; the run queue pulls`);
  if ((config.max_deliver ?? -1) > 0) {
    // Early messages are nak'ed until their time: a bound on deliveries would drop them.
    throw misconfigured(`${where} gives up after ${config.max_deliver} deliveries; the run queue needs -1`);
  }
  if ((config.filter_subject ?? '') !== subjectsOf(options)) {
    throw misconfigured(`${where} filters "${config.filter_subject ?? ''}", not ${subjectsOf(options)}`);
  }
}

function misconfigured(message: string): HourglassError {
  return new HourglassError('internal', `${message} (fix or delete it with the nats CLI)`);
}
