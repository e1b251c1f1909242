// The log store port: each run's combined stdout and stderr, capped in size with a truncation marker,
// readable while the run is live.

export interface LogWriter {
  write(chunk: Buffer): void;
  close(): Promise<void>;
}

export interface LogChunk {
  data: Buffer;
  /** Offset to pass to the next read. */
  nextOffset: number;
}

export interface LogStore {
  /** Opens the run's log for appending (a later attempt appends to the same log). */
  open(runId: string): LogWriter;
  /** Bytes from `offset` on (empty when there are none yet, or the run never wrote any). */
  read(runId: string, offset: number, maxBytes: number): Promise<LogChunk>;
}
