// Tests that need something beyond Node (root, PostgreSQL, NATS, runc, a registry) ask here whether to run.
// On a developer's machine a missing prerequisite skips the test with its reason; in CI
// (`HOURGLASS_REQUIRE_SERVICES=1`, set by .ci/run) it is a failure, so a suite can never pass by skipping.

export const SERVICES_REQUIRED = process.env['HOURGLASS_REQUIRE_SERVICES'] === '1';

/**
 * The `skip` option for a test or suite that needs `what`: false when it is available, the reason to skip
 * when it is not. Throws instead of skipping when services are required, naming what is missing.
 */
export function skipUnless(available: boolean, what: string): false | string {
  if (available) return false;
  if (SERVICES_REQUIRED) {
    throw new Error(`HOURGLASS_REQUIRE_SERVICES=1 but ${what} is not available`);
  }
  return `needs ${what}`;
}

/** Whether this process runs as root (uid 0): what the process runtime's sandbox tests need. */
export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
