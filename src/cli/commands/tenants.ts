// `hourglass tenants …` (admin): create tenants with their limits, change those limits, and list them.

import type { Tenant, TenantLimits } from '../../sdk/index.js';
import { parseInteger, parsePositiveNumber, parseSeconds, UsageError } from '../args.js';
import { defineCommand, type Group } from '../command.js';
import { connect } from '../options.js';
import { formatFields, formatTable, formatTime, printJson, printOut } from '../output.js';

const LIMIT_HELP = `  --max-memory-mb N     Most memory one run may ask for
  --max-timeout DUR     Longest job timeout: seconds, or 30s, 5m, 2h, 1d
  --max-jobs N          Most jobs the tenant may define
  --runs-per-second R   Sustained rate of run creation
  --run-burst N         Runs that may be created at once above that rate
  --max-schedules N     Most schedules the tenant may have
  --min-interval DUR    Shortest time between two ticks of a schedule: seconds, or 30s, 5m
  --max-webhooks N      Most webhooks the tenant may have
  --allow-host-commands Let the tenant run host commands (jobs without an image) on the worker's host:
                        a privilege, off by default (see docs/security.md)`;

const LIMIT_OPTIONS = {
  'max-memory-mb': { type: 'string' },
  'max-timeout': { type: 'string' },
  'max-jobs': { type: 'string' },
  'runs-per-second': { type: 'string' },
  'run-burst': { type: 'string' },
  'max-schedules': { type: 'string' },
  'min-interval': { type: 'string' },
  'max-webhooks': { type: 'string' },
  'allow-host-commands': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/** The limits given as flags; those not given are left out. */
function limitsFromFlags(values: Record<string, string | boolean | undefined>): Partial<TenantLimits> {
  const limits: Partial<TenantLimits> = {};
  const set = <K extends keyof TenantLimits>(key: K, value: TenantLimits[K] | undefined): void => {
    if (value !== undefined) limits[key] = value;
  };
  const text = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  set('maxMemoryMb', parseInteger(text('max-memory-mb'), '--max-memory-mb', 1));
  set('maxTimeoutSeconds', parseSeconds(text('max-timeout'), '--max-timeout', 1));
  set('maxJobs', parseInteger(text('max-jobs'), '--max-jobs', 0));
  set('runsPerSecond', parsePositiveNumber(text('runs-per-second'), '--runs-per-second'));
  set('runBurst', parseInteger(text('run-burst'), '--run-burst', 1));
  set('maxSchedules', parseInteger(text('max-schedules'), '--max-schedules', 0));
  set('minIntervalSeconds', parseSeconds(text('min-interval'), '--min-interval', 1));
  set('maxWebhooks', parseInteger(text('max-webhooks'), '--max-webhooks', 0));
  if (values['allow-host-commands'] === true) limits.allowHostCommands = true;
  if (values['deny-host-commands'] === true) limits.allowHostCommands = false;
  return limits;
}

const create = defineCommand({
  usage: 'hourglass tenants create <name> [limit flags] [--json]',
  summary: 'Create a tenant (admin key). Limits not given take the server defaults.',
  help: `${LIMIT_HELP}
  --json                Print the tenant as JSON

Then give it a key: hourglass keys create --tenant <id>`,
  options: LIMIT_OPTIONS,
  args: ['<name>'],
  async run({ values, args: [name = ''] }) {
    const limits = limitsFromFlags(values);
    const input = Object.keys(limits).length === 0 ? { name } : { name, limits };
    const tenant = await connect(values, 'admin').createTenant(input);
    if (values.json === true) printJson(tenant);
    else printOut(formatTenant(tenant));
    return 0;
  },
});

const update = defineCommand({
  usage: 'hourglass tenants update <id> [limit flags] [--json]',
  summary: "Change a tenant's limits (admin key). Limits not given keep their values.",
  help: `${LIMIT_HELP}
  --deny-host-commands  Take the host-command privilege away (its host-command runs then fail)
  --json                Print the tenant as JSON`,
  options: { ...LIMIT_OPTIONS, 'deny-host-commands': { type: 'boolean' } },
  args: ['<id>'],
  async run({ values, args: [id = ''] }) {
    if (values['allow-host-commands'] === true && values['deny-host-commands'] === true) {
      throw new UsageError('--allow-host-commands and --deny-host-commands cannot be given together');
    }
    const limits = limitsFromFlags(values);
    if (Object.keys(limits).length === 0) throw new UsageError('give at least one limit to change');
    const tenant = await connect(values, 'admin').updateTenant(id, { limits });
    if (values.json === true) printJson(tenant);
    else printOut(formatTenant(tenant));
    return 0;
  },
});

const list = defineCommand({
  usage: 'hourglass tenants list [--json]',
  summary: 'List tenants (admin key).',
  help: '  --json                Print {items: [...]} as JSON',
  options: { json: { type: 'boolean' } },
  async run({ values }) {
    const tenants = await connect(values, 'admin').listTenants();
    if (values.json === true) {
      printJson({ items: tenants });
      return 0;
    }
    const rows = tenants.map((t) => [
      t.id,
      t.name,
      `${t.limits.maxMemoryMb} MB`,
      `${t.limits.maxTimeoutSeconds} s`,
      String(t.limits.maxJobs),
      String(t.limits.runsPerSecond),
      String(t.limits.runBurst),
      formatTime(t.createdAt),
    ]);
    const headers = ['ID', 'NAME', 'MAX MEMORY', 'MAX TIMEOUT', 'MAX JOBS', 'RUNS/S', 'BURST', 'CREATED'];
    printOut(formatTable(headers, rows));
    return 0;
  },
});

export const tenantsGroup: Group = {
  name: 'tenants',
  summary: 'Tenants (admin): who owns jobs and runs, with their limits.',
  commands: { create, update, list },
};

function formatTenant(tenant: Tenant): string {
  const { limits } = tenant;
  return formatFields([
    ['ID', tenant.id],
    ['Name', tenant.name],
    ['Max memory', `${limits.maxMemoryMb} MB per run`],
    ['Max timeout', `${limits.maxTimeoutSeconds} s`],
    ['Max jobs', String(limits.maxJobs)],
    ['Run rate', `${limits.runsPerSecond}/s, burst ${limits.runBurst}`],
    ['Max schedules', String(limits.maxSchedules)],
    ['Min interval', `${limits.minIntervalSeconds} s`],
    ['Max webhooks', String(limits.maxWebhooks)],
    ['Host commands', limits.allowHostCommands ? 'allowed' : 'not allowed'],
    ['Created', formatTime(tenant.createdAt)],
  ]);
}
