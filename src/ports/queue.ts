// The queue port: how runs travel from whoever creates them to the workers. Workers pull only as many as
// they have capacity for; a delivery is acked once the run is durably claimed in the store, or nak'ed with a
// delay to come back later. Publishing the same message twice delivers it once (the in-process queue dedups by
// run id; JetStream by run id, attempt and availability, within its dedup window). A second delivery is
// harmless anyway: claims are fenced by attempt.

export interface QueueMessage {
  runId: string;
  tenantId: string;
  attempt: number;
  /**
   * The run's memory limit and what it reserves (its job's request: core/job.ts memoryRequestOf), so a worker
   * can tell whether it fits before claiming it.
   */
  memoryMb: number;
  memoryRequestMb: number;
  /** Not delivered before this epoch ms. */
  availableAt: number;
}

export interface Delivery {
  /** The queue's own copy: not to be changed. */
  readonly message: Readonly<QueueMessage>;
  ack(): Promise<void>;
  nak(delayMs: number): Promise<void>;
}

export interface RunQueue {
  /**
   * Whether its messages outlive this process (a broker). A queue that does not (the in-process one) starts
   * empty, so the dispatch sweep publishes every queued run due within the horizon again at start.
   */
  readonly durable: boolean;
  publish(messages: QueueMessage[]): Promise<void>;
  /** Waits until at least one message is available (or `waitMs` passes, or the signal aborts); at most `max`. */
  pull(max: number, waitMs: number, signal?: AbortSignal): Promise<Delivery[]>;
  /** Messages waiting (ready or delayed), for metrics. */
  depth(): Promise<number>;
  /**
   * Drops the messages of runs that can no longer start (cancelled, their job deleted) while they wait for
   * their time, so neither memory nor `depth` keeps them until then. Optional: a message left behind is refused
   * by the worker's claim and acked, as one that is ready or in flight already is.
   */
  discard?(runIds: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
