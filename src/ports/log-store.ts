// The log store port: each run's combined stdout and stderr, capped in size with a truncation marker,
// readable while the run is live.

import type { Readable } from 'node:stream';

export interface LogWriter {
  write(chunk: Buffer): void;
  close(): Promise<void>;
}

export interface LogChunk {
  data: Buffer;
  /** Offset to pass to the next read. */
  nextOffset: number;
}

/** A log as it was when opened: its size then, and a stream of exactly those bytes. */
export interface LogSnapshot {
  size: number;
  /**
   * Read from the store a bounded chunk at a time, as the consumer takes them (backpressure): the log is never
   * held in memory whole, however slowly it is read. The caller must consume or destroy it.
   */
  stream: Readable;
}

export interface LogStore {
  /** Opens the run's log for appending (a later attempt appends to the same log). */
  open(runId: string): LogWriter;
  /** Bytes from `offset` on (empty when there are none yet, or the run never wrote any). */
  read(runId: string, offset: number, maxBytes: number): Promise<LogChunk>;
  /** The whole log as it is now (empty when the run never wrote any); output written later is not in it. */
  snapshot(runId: string): Promise<LogSnapshot>;
}
