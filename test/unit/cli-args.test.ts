// The CLI's pure parsing and formatting helpers: what a command line becomes, and how results are shown.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs } from 'node:util';
import {
  exitCodeForStatus,
  parseArgvFlag,
  parseInteger,
  parseKeyValues,
  parseRunStatus,
  parseRunStatuses,
  parseSeconds,
  splitAtTerminator,
  splitLeadingFlags,
  UsageError,
  type ArgToken,
} from '../../src/cli/args.js';
import { buildJobFields } from '../../src/cli/job-spec.js';
import { DEFAULT_URL, resolveConnection } from '../../src/cli/options.js';
import { formatArgv, formatMs, formatRetry, formatRunOutcome, formatTable } from '../../src/cli/output.js';
import type { Run } from '../../src/sdk/index.js';

function tokensOf(args: string[]): ArgToken[] {
  const options = { env: { type: 'string', multiple: true } } as const;
  const { tokens } = parseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
  return tokens as ArgToken[];
}

describe('splitAtTerminator', () => {
  it('takes everything after -- literally, flags included', () => {
    const tokens = tokensOf(['hello', '--env', 'A=1', '--', 'echo', '--env', 'hi']);
    assert.deepEqual(splitAtTerminator(tokens), {
      positionals: ['hello'],
      afterDash: ['echo', '--env', 'hi'],
    });
  });

  it('tells a missing -- from an empty tail', () => {
    assert.deepEqual(splitAtTerminator(tokensOf(['hello'])), { positionals: ['hello'], afterDash: null });
    assert.deepEqual(splitAtTerminator(tokensOf(['hello', '--'])), { positionals: ['hello'], afterDash: [] });
  });
});

describe('splitLeadingFlags', () => {
  it('keeps flags given before the command, with their values', () => {
    assert.deepEqual(splitLeadingFlags(['--url', 'http://h:1', '--json', 'jobs', 'list']), {
      leading: ['--url', 'http://h:1', '--json'],
      rest: ['jobs', 'list'],
    });
    assert.deepEqual(splitLeadingFlags(['--api-key=k', 'run', 'x', '--', '-a']), {
      leading: ['--api-key=k'],
      rest: ['run', 'x', '--', '-a'],
    });
  });
});

describe('parseKeyValues', () => {
  it('splits at the first = and lets a later key win', () => {
    assert.deepEqual(parseKeyValues(['A=1', 'B=x=y', 'C=', 'A=2'], '--env'), { A: '2', B: 'x=y', C: '' });
    assert.deepEqual(parseKeyValues(undefined, '--env'), {});
  });

  it('rejects a pair without a key', () => {
    assert.throws(() => parseKeyValues(['FOO'], '--env'), UsageError);
    assert.throws(() => parseKeyValues(['=1'], '--env'), /--env expects KEY=VALUE/);
  });
});

describe('parseArgvFlag', () => {
  it('takes repeated words or one JSON array', () => {
    assert.deepEqual(parseArgvFlag(['echo', 'hi'], '--cmd'), ['echo', 'hi']);
    assert.deepEqual(parseArgvFlag(['["sh", "-c", "echo a b"]'], '--cmd'), ['sh', '-c', 'echo a b']);
    assert.deepEqual(parseArgvFlag(['echo'], '--cmd'), ['echo']);
  });

  it('rejects JSON that is not an array of strings', () => {
    assert.throws(() => parseArgvFlag(['["a", 1]'], '--cmd'), /JSON array of strings/);
    assert.throws(() => parseArgvFlag(['[oops'], '--cmd'), /does not parse/);
  });
});

describe('numbers and durations', () => {
  it('parses whole numbers with a minimum', () => {
    assert.equal(parseInteger('512', '--memory-mb', 1), 512);
    assert.equal(parseInteger(undefined, '--memory-mb', 1), undefined);
    for (const bad of ['0', '-1', '1.5', 'abc', '']) {
      assert.throws(() => parseInteger(bad, '--memory-mb', 1), UsageError, bad);
    }
  });

  it('parses seconds with an optional unit', () => {
    assert.equal(parseSeconds('90', '--timeout'), 90);
    assert.equal(parseSeconds('90s', '--timeout'), 90);
    assert.equal(parseSeconds('5m', '--timeout'), 300);
    assert.equal(parseSeconds('2h', '--timeout'), 7200);
    assert.equal(parseSeconds('1d', '--timeout'), 86400);
    assert.equal(parseSeconds('0', '--backoff', 0), 0);
    assert.throws(() => parseSeconds('0', '--timeout', 1), UsageError);
    assert.throws(() => parseSeconds('5x', '--timeout'), UsageError);
  });

  it('knows the run statuses', () => {
    assert.equal(parseRunStatus('timed_out'), 'timed_out');
    assert.throws(() => parseRunStatus('done'), /must be one of queued, running/);
    assert.deepEqual(parseRunStatuses('failed, lost'), ['failed', 'lost']);
    assert.deepEqual(parseRunStatuses('timed_out'), ['timed_out']);
    assert.equal(parseRunStatuses(undefined), undefined);
    assert.throws(() => parseRunStatuses('failed,done'), /one or more of queued, .*got 'done'/);
    assert.throws(() => parseRunStatuses('failed,'), /got ''/);
  });
});

describe('buildJobFields', () => {
  it('takes the command after -- and only the flags given', () => {
    assert.deepEqual(buildJobFields({}, ['echo', 'hello']), { command: ['echo', 'hello'] });
    assert.deepEqual(
      buildJobFields(
        { image: 'alpine:3', arg: ['x'], env: ['A=1'], 'memory-mb': '256', timeout: '5m', backoff: '10' },
        null,
      ),
      {
        image: 'alpine:3',
        args: ['x'],
        env: { A: '1' },
        resources: { memoryMb: 256 },
        timeoutSeconds: 300,
        retry: { backoffSeconds: 10 },
      },
    );
  });

  it('takes the command from --cmd or --command', () => {
    assert.deepEqual(buildJobFields({ cmd: ['["node","a.js"]'] }, null), { command: ['node', 'a.js'] });
    assert.deepEqual(buildJobFields({ command: ['ls', '-l'] }, null), { command: ['ls', '-l'] });
  });

  it("refuses --memory-mb outside the API's bounds (16 MB to 1 TiB) before asking the server", () => {
    assert.deepEqual(buildJobFields({ 'memory-mb': '16' }, null), { resources: { memoryMb: 16 } });
    assert.throws(
      () => buildJobFields({ 'memory-mb': '15' }, null),
      /--memory-mb expects a whole number ≥ 16/,
    );
    assert.throws(() => buildJobFields({ 'memory-mb': '1048577' }, null), /≤ 1048576/);
  });

  it('rejects two sources of the command, or an empty tail', () => {
    assert.throws(() => buildJobFields({ cmd: ['ls'] }, ['ls']), /not both/);
    assert.throws(() => buildJobFields({ cmd: ['ls'], command: ['ls'] }, null), /not both/);
    assert.throws(() => buildJobFields({}, []), /expected a command/);
  });
});

describe('resolveConnection', () => {
  it('prefers flags, then the environment, then the default URL', () => {
    assert.deepEqual(resolveConnection({}, { HOURGLASS_API_KEY: 'k' }), {
      baseUrl: DEFAULT_URL,
      apiKey: 'k',
    });
    const env = { HOURGLASS_URL: 'http://env:1', HOURGLASS_API_KEY: 'k' };
    assert.deepEqual(resolveConnection({ url: 'http://flag:2', 'api-key': 'f' }, env), {
      baseUrl: 'http://flag:2',
      apiKey: 'f',
    });
  });

  it('uses the admin key for admin commands when there is one', () => {
    const env = { HOURGLASS_API_KEY: 'tenant', HOURGLASS_ADMIN_KEY: 'admin' };
    assert.equal(resolveConnection({}, env, 'admin').apiKey, 'admin');
    assert.equal(resolveConnection({}, env, 'tenant').apiKey, 'tenant');
    assert.equal(resolveConnection({}, { HOURGLASS_API_KEY: 'tenant' }, 'admin').apiKey, 'tenant');
  });

  it('asks for a key, and for an http(s) URL', () => {
    assert.throws(() => resolveConnection({}, { HOURGLASS_API_KEY: ' ' }), /no API key/);
    assert.throws(() => resolveConnection({ url: 'localhost:7420', 'api-key': 'k' }, {}), /http/);
  });
});

describe('exit codes and formatting', () => {
  it('maps terminal statuses to exit codes', () => {
    assert.equal(exitCodeForStatus('succeeded'), 0);
    assert.equal(exitCodeForStatus('failed'), 1);
    assert.equal(exitCodeForStatus('lost'), 1);
    assert.equal(exitCodeForStatus('cancelled'), 1);
    assert.equal(exitCodeForStatus('timed_out'), 124);
    assert.equal(exitCodeForStatus('oom_killed'), 137);
  });

  it('formats durations, tables and command lines', () => {
    assert.equal(formatMs(null), '-');
    assert.equal(formatMs(2.345), '2.3 ms');
    assert.equal(formatMs(1250), '1.25 s');
    assert.equal(formatMs(245_000), '4m05s');
    assert.equal(formatTable(['A', 'BB'], [['xyz', '1']]), 'A    BB\nxyz  1');
    assert.equal(formatArgv(['sh', '-c', 'echo a b']), 'sh -c "echo a b"');
  });

  it('says how retries are spaced: the backoff doubles', () => {
    assert.equal(formatRetry({ maxAttempts: 1, backoffSeconds: 10 }), '1 attempt, no retry');
    assert.equal(
      formatRetry({ maxAttempts: 3, backoffSeconds: 1 }),
      '3 attempts: retried after 1 s, then 2 s',
    );
    assert.equal(
      formatRetry({ maxAttempts: 5, backoffSeconds: 10 }),
      '5 attempts: retried after 10 s, 20 s, 40 s, then 80 s',
    );
    assert.equal(
      formatRetry({ maxAttempts: 20, backoffSeconds: 10 }),
      '20 attempts: retried after 10 s, 20 s, 40 s, … doubling up to 3600 s',
    );
    assert.equal(
      formatRetry({ maxAttempts: 4, backoffSeconds: 3600 }),
      '4 attempts: retried after 3600 s each',
    );
    assert.equal(formatRetry({ maxAttempts: 2, backoffSeconds: 0 }), '2 attempts: retried at once');
  });

  it('writes the status line of a finished run', () => {
    const run: Run = {
      id: 'run_1',
      jobId: 'job_1',
      scheduleId: null,
      status: 'failed',
      attempt: 2,
      exitCode: 3,
      reason: 'exited with code 3',
      createdAt: '2024-01-01T00:00:00.000Z',
      dispatchedAt: '2024-01-01T00:00:00.001Z',
      startedAt: '2024-01-01T00:00:00.002Z',
      finishedAt: '2024-01-01T00:00:01.502Z',
      nominalTime: '2024-01-01T00:00:00.000Z',
      dueAt: '2024-01-01T00:00:00.000Z',
      blockedBy: null,
      lagMs: 2,
      imageDigest: null,
      args: null,
      env: null,
    };
    assert.equal(
      formatRunOutcome(run),
      'failed, exit code 3, reason: exited with code 3, attempt 2, lag 2 ms, duration 1.5 s',
    );
  });
});
