// What the JetStream run queue is given, resolved once (defaults filled, durations in …Ms) and frozen. The
// stream and its consumer are created with these settings when missing; an existing one is checked for what
// the queue relies on and otherwise left as the operator configured it (docs/operations.md, "JetStream queue").

import { HourglassError } from '../../core/errors.js';

export interface JetStreamQueueOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`; several for a cluster. */
  servers: string | string[];
  /** The work-queue stream holding the messages (default `HOURGLASS_RUNS`). */
  stream?: string;
  /** The durable pull consumer every worker shares (default `hourglass-workers`). */
  consumer?: string;
  /** Messages go to `<prefix>.<tenant id>` (default `hourglass.runs`). */
  subjectPrefix?: string;
  /**
   * How long a delivery may stay neither acked nor nak'ed before the server hands it to another puller
   * (default 10 s). A worker acks once the run is claimed, a store round trip after the pull, so this bounds
   * only how late a run is when its worker died between the pull and the claim; it is the same order as the
   * reaper's bound for a worker that dies after the claim (3 heartbeats). Shorter redelivers runs that
   * wait in a worker for memory to other workers sooner (their claim is fenced, so never twice); longer
   * leaves a dead worker's runs waiting longer.
   */
  ackWaitMs?: number;
  /**
   * The stream's dedup window (default 2 min, the NATS default): a second publish of the same
   * `(run id, attempt)` within it is dropped, whether the first is still waiting, already acked or lost.
   */
  duplicateWindowMs?: number;
  /** Replicas of a new stream (default 1; 3 in a production cluster). */
  replicas?: number;
  /**
   * Deliveries outstanding (not yet acked) at most, across all workers (default 20,000). A message published
   * ahead of its time is nak'ed until then and counts here, so this must exceed runs per second × the
   * scheduler's lead, plus the runs being claimed; at the limit, new messages wait until some are acked.
   */
  maxAckPending?: number;
  /** How long a publish, ack or nak waits for the server's answer (default 5 s). */
  requestTimeoutMs?: number;
  /** The connection's name, shown by the server's monitoring (default `hourglass`). */
  connectionName?: string;
}

export type ResolvedJetStreamQueueOptions = Readonly<{
  servers: readonly string[];
  stream: string;
  consumer: string;
  subjectPrefix: string;
  ackWaitMs: number;
  duplicateWindowMs: number;
  replicas: number;
  maxAckPending: number;
  requestTimeoutMs: number;
  connectionName: string;
}>;

/** Stream and consumer names: what the JetStream API accepts in a subject token and a file name. */
const NAME = /^[A-Za-z0-9_-]+$/;
/** Dot-separated subject tokens without wildcards. */
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export function resolveJetStreamQueueOptions(options: JetStreamQueueOptions): ResolvedJetStreamQueueOptions {
  const servers = typeof options.servers === 'string' ? [options.servers] : [...options.servers];
  if (servers.length === 0) throw badOption('servers', 'at least one NATS server URL is needed');
  const resolved = {
    servers: Object.freeze(servers),
    stream: options.stream ?? 'HOURGLASS_RUNS',
    consumer: options.consumer ?? 'hourglass-workers',
    subjectPrefix: options.subjectPrefix ?? 'hourglass.runs',
    ackWaitMs: options.ackWaitMs ?? 10_000,
    duplicateWindowMs: options.duplicateWindowMs ?? 120_000,
    replicas: options.replicas ?? 1,
    maxAckPending: options.maxAckPending ?? 20_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 5_000,
    connectionName: options.connectionName ?? 'hourglass',
  };
  if (!NAME.test(resolved.stream)) throw badOption('stream', 'only letters, digits, "_" and "-"');
  if (!NAME.test(resolved.consumer)) throw badOption('consumer', 'only letters, digits, "_" and "-"');
  if (!SUBJECT_PREFIX.test(resolved.subjectPrefix)) {
    throw badOption('subjectPrefix', 'dot-separated tokens of letters, digits, "_" and "-"');
  }
  for (const field of ['ackWaitMs', 'duplicateWindowMs', 'requestTimeoutMs'] as const) {
    if (!(resolved[field] >= 1)) throw badOption(field, 'a positive number of milliseconds');
  }
  if (!Number.isInteger(resolved.replicas) || resolved.replicas < 1) {
    throw badOption('replicas', 'a positive integer');
  }
  if (!Number.isInteger(resolved.maxAckPending) || resolved.maxAckPending < 1) {
    throw badOption('maxAckPending', 'a positive integer');
  }
  return Object.freeze(resolved);
}

function badOption(field: string, message: string): HourglassError {
  return new HourglassError('validation_failed', `JetStream queue option ${field}: ${message}`, { field });
}
