import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { parseRuncVersion, probeContainerRuntime } from '../../src/adapters/container/runtime-probe.js';
import { IS_ROOT, skipUnless } from '../support/required-services.js';

function hasRunc(): boolean {
  try {
    execFileSync('runc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('the container runtime probe', () => {
  it('reads the version from runc --version', () => {
    assert.equal(parseRuncVersion('runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\n'), '1.1.5+ds1');
    assert.equal(parseRuncVersion('something else 2\n'), 'something else 2');
  });

  it('says a missing binary is not found, naming it', async () => {
    const status = await probeContainerRuntime('/nonexistent/runc', true);
    assert.equal(status.version, null);
    assert.equal(status.unavailableReason, 'container runtime /nonexistent/runc not found');
  });

  it('says a non-root worker cannot run containers', async () => {
    const status = await probeContainerRuntime(process.execPath, false);
    assert.match(status.unavailableReason ?? '', /not root/);
  });

  it(
    'finds the installed runc and its version',
    { skip: skipUnless(hasRunc() && IS_ROOT, 'runc as root') },
    async () => {
      const status = await probeContainerRuntime('runc', true);
      assert.equal(status.unavailableReason, null);
      assert.match(status.version ?? '', /^\d+\.\d+\.\d+/);
    },
  );
});
