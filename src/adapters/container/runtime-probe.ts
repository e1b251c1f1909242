// Whether this worker can run containers, decided once at start: runc must answer `--version` and the worker
// must be root (rootless runc does not work on cgroup v1). The answer is reported by /readyz and the server's
// banner; when it is no, jobs with an image fail with `reason` and never run unisolated.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ContainerRuntimeStatus } from '../../ports/executor.js';

const run = promisify(execFile);

export async function probeContainerRuntime(path: string, isRoot: boolean): Promise<ContainerRuntimeStatus> {
  let version: string | null = null;
  try {
    const { stdout } = await run(path, ['--version'], { timeout: 5000 });
    version = parseRuncVersion(stdout);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : `did not answer --version (${String(code ?? error)})`;
    return { path, version: null, unavailableReason: `container runtime ${path} ${why}` };
  }
  if (!isRoot) {
    return {
      path,
      version,
      unavailableReason:
        'the worker is not root: runc needs root here (rootless runc does not work on cgroup v1)',
    };
  }
  return { path, version, unavailableReason: null };
}

/** "runc version 1.1.5+ds1\ncommit: …" → "1.1.5+ds1"; the whole first line when it has another shape. */
export function parseRuncVersion(output: string): string {
  const first = output.split('\n', 1)[0]?.trim() ?? '';
  const match = /^runc version (\S+)/.exec(first);
  return match?.[1] ?? first;
}
