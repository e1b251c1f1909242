// The launch script a gated container's shell evaluates (container-launch.ts), run here by the host's own
// static busybox shell, as the gate runs it: the exact environment and argv arrive, nothing is expanded,
// and a command named like a busybox applet is the file on PATH, not the applet.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gateScript, launchScript } from '../../src/adapters/container/container-launch.js';
import { BUSYBOX, commandWorks } from '../support/container-fixtures.js';
import { skipUnless } from '../support/required-services.js';

const dir = mkdtempSync(join(tmpdir(), 'hg-launch-'));

/** The gate, with the host's busybox: reads the launch script from fd 3 (here stdin), with no environment. */
function launch(script: string): { stdout: string; stderr: string; status: number | null } {
  const gate = `exec 3<&0 </dev/null; ${gateScript(BUSYBOX)}`;
  const result = spawnSync('/usr/bin/env', ['-i', BUSYBOX, 'sh', '-c', gate], {
    input: script,
    encoding: 'utf8',
    cwd: dir,
  });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

describe('launch scripts', { skip: skipUnless(commandWorks(BUSYBOX, ['true']), 'busybox-static') }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the process exactly its environment and argv, expanding nothing', () => {
    const hostile = ["it's", '$(touch pwned)', '`id`', '*', 'two\nlines', '', '--', '\\', '"q"'];
    const env = ['PATH=/usr/bin:/bin', "QUOTE=it's", 'EXPAND=$HOME `id` *', 'LINES=a\nb', 'EMPTY='];
    const script = launchScript({
      argv: [
        'python3',
        '-c',
        "import sys; print(repr(sys.argv[1:])); print(repr(dict(e.split('=', 1) for e in open('/proc/self/environ').read().split(chr(0)) if e)))",
        ...hostile,
      ],
      env,
    });
    assert.ok(script !== null);
    const run = launch(script);
    assert.equal(run.status, 0, run.stderr);
    const [argv, environ] = run.stdout.trim().split('\n');
    const parse = (text: string | undefined): unknown =>
      JSON.parse(
        execFileSync(
          'python3',
          ['-c', 'import ast, json, sys; print(json.dumps(ast.literal_eval(sys.argv[1])))', text!],
          {
            encoding: 'utf8',
          },
        ),
      );
    assert.deepEqual(parse(argv), hostile);
    assert.deepEqual(
      parse(environ),
      Object.fromEntries(
        env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
      ),
    );
    assert.equal(spawnSync('ls', [join(dir, 'pwned')]).status, 2, 'nothing was expanded');
  });

  it('runs the file on PATH for a command named like a busybox applet, under its own name', () => {
    mkdirSync(join(dir, 'bin'), { recursive: true });
    writeFileSync(join(dir, 'bin', 'date'), '#!/bin/sh\necho "the image\'s own date: $1"\n');
    chmodSync(join(dir, 'bin', 'date'), 0o755);
    const own = launch(launchScript({ argv: ['date', 'x'], env: [`PATH=/nowhere:${join(dir, 'bin')}`] })!);
    assert.equal(own.stdout, "the image's own date: x\n", own.stderr);
    // argv[0] is the name the job gave, as runc's own lookup would leave it.
    const named = launch(
      launchScript({ argv: ['busybox', 'cat', '/proc/self/cmdline'], env: ['PATH=/usr/bin:/bin'] })!,
    );
    assert.deepEqual(named.stdout.split('\0'), ['busybox', 'cat', '/proc/self/cmdline', '']);
  });

  it('passes a long script whole (read by cat, not byte by byte), and exits 125 for a closed pipe', () => {
    const long = 'x'.repeat(10_000) + "'\n$(id)";
    const script = launchScript({ argv: ['printenv', 'LONG'], env: ['PATH=/usr/bin:/bin', `LONG=${long}`] })!;
    assert.match(script, /^cat\n/);
    assert.match(launchScript({ argv: ['true'], env: [] })!, /^read\n/);
    const run = launch(script);
    assert.equal(run.stdout, `${long}\n`, run.stderr);
    assert.equal(launch('').status, 125);
  });

  it('fails with 127 and says so when the command is not on PATH', () => {
    const run = launch(launchScript({ argv: ['ls'], env: ['PATH=/nowhere'] })!);
    assert.equal(run.status, 127);
    assert.equal(run.stdout, '', 'not busybox ls');
    assert.match(run.stderr, /hourglass: ls: executable file not found in \$PATH/);
  });

  it('is null for what a shell cannot say: an env name that is not a shell name, an empty command', () => {
    assert.equal(launchScript({ argv: ['true'], env: ['NOT-A-NAME=1'] }), null);
    assert.equal(launchScript({ argv: [''], env: [] }), null);
    assert.equal(launchScript({ argv: [], env: [] }), null);
  });
});
