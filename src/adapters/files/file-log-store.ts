// The file log store: each run's combined stdout and stderr in one file, `<root>/<runId>.log`, appended to by
// every attempt of the run and readable (by offset) while it is being written.
//
// A run's log is capped at maxBytes of output, counted across attempts (the existing file size is read when
// a writer opens). A writer is in one of three states:
//
//   open (under the cap) ──cap reached──▶ truncated (marker written once; later output dropped) ──close──▶ closed
//
// A file longer than maxBytes already carries the marker, so a later attempt's writer starts truncated.
// Writes are synchronous appends on a kept descriptor: simple, ordered, and visible to readers at once.
// A whole-log read is a file stream over the bytes there when it opened (the file only grows, so they never
// change), 64 KiB at a time as the reader takes them: a slow reader holds a chunk or two, never the log.

import { closeSync, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { HourglassError } from '../../core/errors.js';
import type { LogChunk, LogSnapshot, LogStore, LogWriter } from '../../ports/log-store.js';

export interface FileLogStoreOptions {
  /** Directory holding one `<runId>.log` file per run; created when missing. */
  root: string;
  /** Most bytes of output kept per run; the truncation marker comes after them. */
  maxBytes: number;
}

/** Bytes a whole-log stream reads ahead of its consumer, at most. */
const SNAPSHOT_CHUNK_BYTES = 16 * 1024;
const SAFE_RUN_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function truncationMarker(maxBytes: number): Buffer {
  return Buffer.from(`\n[hourglass: log truncated at ${maxBytes} bytes]\n`);
}

export class FileLogStore implements LogStore {
  private readonly root: string;
  private readonly maxBytes: number;

  constructor(options: FileLogStoreOptions) {
    this.root = options.root;
    this.maxBytes = options.maxBytes;
    // 0700: no host command (another uid) may read another run's log.
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
  }

  open(runId: string): LogWriter {
    return new FileLogWriter(this.pathOf(runId), this.maxBytes);
  }

  async read(runId: string, offset: number, maxBytes: number): Promise<LogChunk> {
    const path = this.pathOf(runId);
    const start = Math.max(0, Math.floor(offset));
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return { data: Buffer.alloc(0), nextOffset: start };
      throw error;
    }
    try {
      // A follower polls this often, mostly to find nothing new: size the buffer by what is there to read,
      // uninitialised, since every byte of it that is returned has been read into.
      const { size } = await handle.stat();
      const length = Math.min(Math.max(0, Math.floor(maxBytes)), Math.max(0, size - start));
      if (length === 0) return { data: Buffer.alloc(0), nextOffset: start };
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      return { data: buffer.subarray(0, bytesRead), nextOffset: start + bytesRead };
    } finally {
      await handle.close();
    }
  }

  async snapshot(runId: string): Promise<LogSnapshot> {
    const path = this.pathOf(runId);
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return { size: 0, stream: new PassThrough().end() };
      throw error;
    }
    let size;
    try {
      size = (await handle.stat()).size;
    } catch (error) {
      await handle.close();
      throw error;
    }
    if (size === 0) {
      await handle.close();
      return { size: 0, stream: new PassThrough().end() };
    }
    // The stream owns the handle from here: it closes it at the end, on an error, or when destroyed.
    const stream = handle.createReadStream({ start: 0, end: size - 1, highWaterMark: SNAPSHOT_CHUNK_BYTES });
    return { size, stream };
  }

  private pathOf(runId: string): string {
    // Run ids come from the store, but a log path must never be steerable outside the root.
    if (!SAFE_RUN_ID.test(runId)) {
      const message = `not a valid run id: ${JSON.stringify(runId)}`;
      throw new HourglassError('validation_failed', message, { field: 'runId' });
    }
    return join(this.root, `${runId}.log`);
  }
}

class FileLogWriter implements LogWriter {
  private fd: number | null;
  private written: number;
  private truncated: boolean;

  constructor(
    path: string,
    private readonly maxBytes: number,
  ) {
    this.fd = openSync(path, 'a', 0o600);
    this.written = fstatSync(this.fd).size;
    this.truncated = this.written > maxBytes;
  }

  write(chunk: Buffer): void {
    if (this.fd === null || this.truncated || chunk.length === 0) return;
    const room = this.maxBytes - this.written;
    if (chunk.length <= room) {
      writeAll(this.fd, chunk);
      this.written += chunk.length;
      return;
    }
    if (room > 0) writeAll(this.fd, chunk.subarray(0, room));
    writeAll(this.fd, truncationMarker(this.maxBytes));
    this.written = this.maxBytes;
    this.truncated = true;
  }

  async close(): Promise<void> {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}

function writeAll(fd: number, data: Buffer): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
}
