import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FileLogStore, truncationMarker } from '../../src/adapters/files/file-log-store.js';

describe('FileLogStore', () => {
  let root: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'hourglass-logs-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('appends to one file per run and reads from an offset', async () => {
    const store = new FileLogStore({ root, maxBytes: 1024 });
    const writer = store.open('run_a');
    writer.write(Buffer.from('hello '));
    // Readable while the run is live.
    assert.deepEqual(await store.read('run_a', 0, 100), { data: Buffer.from('hello '), nextOffset: 6 });
    writer.write(Buffer.from('world\n'));
    await writer.close();
    assert.equal(readFileSync(join(root, 'run_a.log'), 'utf8'), 'hello world\n');

    const first = await store.read('run_a', 0, 5);
    assert.equal(first.data.toString(), 'hello');
    assert.equal(first.nextOffset, 5);
    const rest = await store.read('run_a', first.nextOffset, 100);
    assert.equal(rest.data.toString(), ' world\n');
    assert.equal(rest.nextOffset, 12);
    assert.deepEqual(await store.read('run_a', 12, 100), { data: Buffer.alloc(0), nextOffset: 12 });
  });

  it('allocates only what there is to read, however much is asked for', async () => {
    const store = new FileLogStore({ root, maxBytes: 1024 * 1024 });
    const writer = store.open('run_small');
    writer.write(Buffer.from('abc'));
    const ask = 64 * 1024;
    const chunk = await store.read('run_small', 1, ask);
    assert.deepEqual(chunk, { data: Buffer.from('bc'), nextOffset: 3 });
    // A 64 KiB buffer per poll would show as the memory behind the returned bytes.
    assert.ok(chunk.data.buffer.byteLength < ask, `${chunk.data.buffer.byteLength} bytes allocated`);
    // At or past the end, and for a zero-byte ask: nothing, and the offset stays.
    assert.deepEqual(await store.read('run_small', 3, ask), { data: Buffer.alloc(0), nextOffset: 3 });
    assert.deepEqual(await store.read('run_small', 10, ask), { data: Buffer.alloc(0), nextOffset: 10 });
    assert.deepEqual(await store.read('run_small', 0, 0), { data: Buffer.alloc(0), nextOffset: 0 });
    // What is written later is read later, the ask capping it.
    writer.write(Buffer.from('defgh'));
    await writer.close();
    assert.deepEqual(await store.read('run_small', 3, 4), { data: Buffer.from('defg'), nextOffset: 7 });
  });

  it('reads nothing for a run that has no log yet', async () => {
    const store = new FileLogStore({ root, maxBytes: 1024 });
    assert.deepEqual(await store.read('run_none', 7, 100), { data: Buffer.alloc(0), nextOffset: 7 });
  });

  it('caps a run at maxBytes with one marker, and drops the rest', async () => {
    const store = new FileLogStore({ root, maxBytes: 10 });
    const writer = store.open('run_cap');
    writer.write(Buffer.from('12345678'));
    writer.write(Buffer.from('abcdef'));
    writer.write(Buffer.from('more'));
    await writer.close();
    const expected = Buffer.concat([Buffer.from('12345678ab'), truncationMarker(10)]);
    assert.equal(truncationMarker(10).toString(), '\n[hourglass: log truncated at 10 bytes]\n');
    assert.deepEqual(readFileSync(join(root, 'run_cap.log')), expected);

    // A later attempt of the same run appends to the same, already truncated, log.
    const again = store.open('run_cap');
    again.write(Buffer.from('attempt 2'));
    await again.close();
    assert.deepEqual(readFileSync(join(root, 'run_cap.log')), expected);
  });

  it('counts bytes across attempts of a run', async () => {
    const store = new FileLogStore({ root, maxBytes: 10 });
    const first = store.open('run_attempts');
    first.write(Buffer.from('1234567'));
    await first.close();
    const second = store.open('run_attempts');
    second.write(Buffer.from('890'));
    second.write(Buffer.from('x'));
    await second.close();
    const expected = Buffer.concat([Buffer.from('1234567890'), truncationMarker(10)]);
    assert.deepEqual(readFileSync(join(root, 'run_attempts.log')), expected);
  });

  it('writes the marker when a log exactly at the cap gets more output', async () => {
    const store = new FileLogStore({ root, maxBytes: 4 });
    const first = store.open('run_exact');
    first.write(Buffer.from('abcd'));
    await first.close();
    assert.equal(readFileSync(join(root, 'run_exact.log'), 'utf8'), 'abcd');
    const second = store.open('run_exact');
    second.write(Buffer.from('e'));
    await second.close();
    assert.deepEqual(
      readFileSync(join(root, 'run_exact.log')),
      Buffer.concat([Buffer.from('abcd'), truncationMarker(4)]),
    );
  });

  it('streams a snapshot of the whole log in bounded chunks, without what is written after it', async () => {
    const store = new FileLogStore({ root, maxBytes: 1024 * 1024 });
    const writer = store.open('run_snapshot');
    const written = Buffer.alloc(200 * 1024, 'x');
    writer.write(written);
    const snapshot = await store.snapshot('run_snapshot');
    writer.write(Buffer.from('later'));
    await writer.close();
    assert.equal(snapshot.size, written.length);
    const chunks = await collect(snapshot.stream);
    assert.deepEqual(Buffer.concat(chunks), written);
    // Read a bounded chunk at a time, not the whole log at once.
    assert.ok(chunks.length > 1, `${chunks.length} chunk(s)`);
    assert.ok(Math.max(...chunks.map((c) => c.length)) <= 64 * 1024);
  });

  it('snapshots a missing or empty log as empty', async () => {
    const store = new FileLogStore({ root, maxBytes: 1024 });
    const missing = await store.snapshot('run_no_log');
    assert.equal(missing.size, 0);
    assert.deepEqual(await collect(missing.stream), []);
    await store.open('run_empty_log').close();
    const empty = await store.snapshot('run_empty_log');
    assert.equal(empty.size, 0);
    assert.deepEqual(await collect(empty.stream), []);
  });

  it('refuses a run id that could leave the root', async () => {
    const store = new FileLogStore({ root, maxBytes: 10 });
    assert.throws(() => store.open('../escape'), { code: 'validation_failed' });
    await assert.rejects(store.read('a/b', 0, 10), { code: 'validation_failed' });
    await assert.rejects(store.snapshot('../../etc/passwd'), { code: 'validation_failed' });
  });
});

async function collect(stream: Readable): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return chunks;
}
