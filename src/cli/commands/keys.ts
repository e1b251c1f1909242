// `hourglass keys …` (admin): create a tenant's API key (its secret is shown once), list keys (never their
// secrets) and revoke keys.

import { UsageError } from '../args.js';
import { defineCommand, type Group } from '../command.js';
import { connect } from '../options.js';
import { formatTable, formatTime, printErr, printJson, printOut } from '../output.js';

const create = defineCommand({
  usage: 'hourglass keys create --tenant <tenantId> [--name N] [--json]',
  summary: 'Create an API key for a tenant (admin key). The key is printed once: store it now.',
  help: `  --tenant ID           The tenant the key acts for (required)
  --name N              A label to recognise the key by
  --json                Print {id, key, tenantId, scope, prefix, name, createdAt} as JSON

stdout gets the key alone, so this works:
  export HOURGLASS_API_KEY=$(hourglass keys create --tenant <tenantId>)`,
  options: { tenant: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values }) {
    if (values.tenant === undefined) throw new UsageError('missing --tenant <tenantId>');
    const input = values.name === undefined ? {} : { name: values.name };
    const key = await connect(values, 'admin').createKey(values.tenant, input);
    if (values.json === true) {
      printJson(key);
      return 0;
    }
    printOut(key.key);
    printErr(`created key ${key.id} for tenant ${key.tenantId}; it is not shown again: store it now`);
    return 0;
  },
});

const list = defineCommand({
  usage: 'hourglass keys list [--tenant <tenantId>] [--json]',
  summary: 'List API keys (admin key): ids, names, scopes, tenants, created and last used. Never secrets.',
  help: `  --tenant ID           Only this tenant's keys (admin keys are listed without it)
  --json                Print {items: [{id, name, scope, tenantId, createdAt, lastUsedAt, revokedAt}]}

"Last used" is recorded to the minute. Revoked keys are listed, with when.`,
  options: { tenant: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values }) {
    const filter = values.tenant === undefined ? {} : { tenantId: values.tenant };
    const keys = await connect(values, 'admin').listKeys(filter);
    if (values.json === true) {
      printJson({ items: keys });
      return 0;
    }
    const rows = keys.map((k) => [
      k.id,
      k.name ?? '-',
      k.scope,
      k.tenantId ?? '-',
      formatTime(k.createdAt),
      formatTime(k.lastUsedAt),
      formatTime(k.revokedAt),
    ]);
    printOut(formatTable(['ID', 'NAME', 'SCOPE', 'TENANT', 'CREATED', 'LAST USED', 'REVOKED'], rows));
    return 0;
  },
});

const revoke = defineCommand({
  usage: 'hourglass keys revoke <keyId>',
  summary: 'Revoke an API key (admin key); requests with it fail from now on.',
  help: '<keyId> is the id printed when the key was created (not the secret).',
  options: {},
  args: ['<keyId>'],
  async run({ values, args: [keyId = ''] }) {
    await connect(values, 'admin').revokeKey(keyId);
    printOut(`revoked key ${keyId}`);
    return 0;
  },
});

export const keysGroup: Group = {
  name: 'keys',
  summary: 'API keys (admin): one or more per tenant, each shown once at creation.',
  commands: { create, list, revoke },
};
