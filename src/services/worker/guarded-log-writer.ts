// The run log as the worker writes it: a LogWriter whose failures (disk full, …) are logged once and then
// ignored, because losing output is not worth failing a run over. States: writing ──(error)──▶ dropping;
// either ──close──▶ closed.

import type { LogStore, LogWriter } from '../../ports/log-store.js';
import type { Logger } from '../logger.js';

/** A log writer whose failures (disk full, …) are logged once and then ignored: output is not worth a run. */
export class GuardedLogWriter {
  private writer: LogWriter | null = null;
  private failed = false;

  constructor(
    logStore: LogStore,
    runId: string,
    private readonly log: Logger,
  ) {
    try {
      this.writer = logStore.open(runId);
    } catch (error) {
      this.fail(error);
    }
  }

  write(chunk: Buffer): void {
    if (this.writer === null) return;
    try {
      this.writer.write(chunk);
    } catch (error) {
      this.fail(error);
    }
  }

  async close(): Promise<void> {
    const writer = this.writer;
    this.writer = null;
    await writer?.close().catch((error: unknown) => this.fail(error));
  }

  private fail(error: unknown): void {
    if (!this.failed) this.log.warn({ err: error }, 'writing the run log failed; further output is dropped');
    this.failed = true;
    this.writer = null;
  }
}
