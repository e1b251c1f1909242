// A worker that dies mid-run, for the orphan test: runs `sleep 600` in a container under the runc root and
// bundle root it is given, prints "running" once the container is up, and waits to be SIGKILLed.
// argv: stateRoot bundleRoot rootfs cgroupParent

import { RuncExecutor } from '../../src/adapters/container/runc-executor.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import { DEFAULT_CONTAINER_ID_MAP } from '../../src/ports/images.js';
import { DirectoryImageSource } from './container-fixtures.js';
import { executionSpec } from './executor-fixtures.js';

const [stateRoot = '', bundleRoot = '', rootfs = '', cgroupParent = ''] = process.argv.slice(2);
const executor = new RuncExecutor({
  clock: systemClock,
  runtimePath: 'runc',
  stateRoot,
  bundleRoot,
  images: new DirectoryImageSource(rootfs),
  idMap: DEFAULT_CONTAINER_ID_MAP,
  killGraceMs: 500,
  cgroupParent,
});
const spec = executionSpec(['/bin/sh', '-c', 'echo running; exec sleep 600'], {
  runId: 'run_orphan',
  image: 'registry.test/busybox:1',
  env: {},
  memoryMb: 64,
  timeoutMs: 600_000,
});
void executor.execute(
  spec,
  { onStarted: () => undefined, onOutput: (_stream, chunk) => process.stdout.write(chunk) },
  new AbortController().signal,
);
