// docs/api.md lists every error code with its status; this keeps the list and the registry in step.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { ERROR_CODES } from '../../src/core/errors.js';
import { REPO_ROOT } from '../support/server-process.js';

it('docs/api.md lists exactly the error codes of the registry, with their statuses', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs/api.md'), 'utf8');
  const table = doc.split('<!-- error-codes:start -->')[1]?.split('<!-- error-codes:end -->')[0] ?? '';
  const documented = Object.fromEntries(
    [...table.matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [m[1], Number(m[2])]),
  );
  assert.deepEqual(documented, { ...ERROR_CODES });
});
