// `hourglass tenants …` (admin): create tenants with their limits, and list them.

import type { Tenant, TenantLimits } from '../../sdk/index.js';
import { parseInteger, parsePositiveNumber, parseSeconds } from '../args.js';
import { defineCommand, type Group } from '../command.js';
import { connect } from '../options.js';
import { formatFields, formatTable, formatTime, printJson, printOut } from '../output.js';

const create = defineCommand({
  usage: 'hourglass tenants create <name> [limit flags] [--json]',
  summary: 'Create a tenant (admin key). Limits not given take the server defaults.',
  help: `  --max-memory-mb N     Most memory one run may ask for
  --max-timeout DUR     Longest job timeout: seconds, or 30s, 5m, 2h, 1d
  --max-jobs N          Most jobs the tenant may define
  --runs-per-second R   Sustained rate of run creation
  --run-burst N         Runs that may be created at once above that rate
  --max-schedules N     Most schedules the tenant may have
  --min-interval DUR    Shortest time between two ticks of a schedule: seconds, or 30s, 5m
  --json                Print the tenant as JSON

Then give it a key: hourglass keys create --tenant <id>`,
  options: {
    'max-memory-mb': { type: 'string' },
    'max-timeout': { type: 'string' },
    'max-jobs': { type: 'string' },
    'runs-per-second': { type: 'string' },
    'run-burst': { type: 'string' },
    'max-schedules': { type: 'string' },
    'min-interval': { type: 'string' },
    json: { type: 'boolean' },
  },
  args: ['<name>'],
  async run({ values, args: [name = ''] }) {
    const limits: Partial<TenantLimits> = {};
    const set = <K extends keyof TenantLimits>(key: K, value: number | undefined): void => {
      if (value !== undefined) limits[key] = value;
    };
    set('maxMemoryMb', parseInteger(values['max-memory-mb'], '--max-memory-mb', 1));
    set('maxTimeoutSeconds', parseSeconds(values['max-timeout'], '--max-timeout', 1));
    set('maxJobs', parseInteger(values['max-jobs'], '--max-jobs', 0));
    set('runsPerSecond', parsePositiveNumber(values['runs-per-second'], '--runs-per-second'));
    set('runBurst', parseInteger(values['run-burst'], '--run-burst', 1));
    set('maxSchedules', parseInteger(values['max-schedules'], '--max-schedules', 0));
    set('minIntervalSeconds', parseSeconds(values['min-interval'], '--min-interval', 1));
    const input = Object.keys(limits).length === 0 ? { name } : { name, limits };
    const tenant = await connect(values, 'admin').createTenant(input);
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
  commands: { create, list },
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
    ['Created', formatTime(tenant.createdAt)],
  ]);
}
