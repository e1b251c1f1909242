// What the executor tests share: a spec for a host command, and an execution run to its end with everything
// it reported captured. Any Executor: the process executor in this process, or through its launcher.

import { readdirSync, readFileSync } from 'node:fs';
import type { ExecutionResult, ExecutionSpec, Executor } from '../../src/ports/executor.js';

/** The test host's PATH, which a spec's env must carry for its command to be found. */
export const HOST_PATH = process.env.PATH ?? '/usr/bin:/bin';

export function executionSpec(argv: string[], overrides: Partial<ExecutionSpec> = {}): ExecutionSpec {
  return {
    runId: 'run_test',
    attempt: 1,
    tenantId: 'tenant_test',
    argv,
    command: argv,
    args: [],
    registryCredentials: null,
    env: { PATH: HOST_PATH },
    image: null,
    memoryMb: 64,
    timeoutMs: 10_000,
    startAt: null,
    ...overrides,
  };
}

export interface CapturedExecution {
  result: ExecutionResult;
  stdout: string;
  /** stdout as the bytes the hooks received. */
  stdoutBytes: Buffer;
  stderr: string;
  /** Every start reported (one at most, for a correct executor). */
  startedAt: number[];
}

/** Runs the spec to its end; `onFirstStdout` sees the first chunk of stdout as it arrives. */
export async function captureExecution(
  executor: Executor,
  spec: ExecutionSpec,
  signal: AbortSignal = new AbortController().signal,
  onFirstStdout?: (chunk: Buffer) => void,
): Promise<CapturedExecution> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const startedAt: number[] = [];
  const result = await executor.execute(
    spec,
    {
      onStarted: (at) => startedAt.push(at),
      onOutput: (stream, chunk) => {
        (stream === 'stdout' ? out : err).push(chunk);
        if (stream === 'stdout' && out.length === 1) onFirstStdout?.(chunk);
      },
    },
    signal,
  );
  const stdoutBytes = Buffer.concat(out);
  return {
    result,
    stdout: stdoutBytes.toString(),
    stdoutBytes,
    stderr: Buffer.concat(err).toString(),
    startedAt,
  };
}

/**
 * Processes of the group that are still alive. Zombies are left out: on a host whose init does not reap
 * orphans (some sandboxes) a killed orphan stays a zombie, which runs nothing and holds nothing.
 */
export function liveGroupMembers(pgid: number): number[] {
  const live: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // it exited while we looked
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') live.push(Number(name));
  }
  return live;
}
