// Where the CLI finds the server and its key: flags first, then the environment, then the default URL.
// Admin commands (tenants, keys) prefer HOURGLASS_ADMIN_KEY, the variable the server reads its admin key
// from, so one shell can hold both an admin key and a tenant key.

import { HourglassClient } from '../sdk/index.js';
import { UsageError } from './args.js';

export const DEFAULT_URL = 'http://127.0.0.1:7420';

/** Options every client command accepts. */
export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const CONNECTION_HELP = `Connection:
  --url URL             API address (env HOURGLASS_URL; default ${DEFAULT_URL})
  --api-key KEY         API key (env HOURGLASS_API_KEY; admin commands try HOURGLASS_ADMIN_KEY first)
  -h, --help            Show this help`;

export interface ConnectionFlags {
  url?: string | undefined;
  'api-key'?: string | undefined;
}

export interface Connection {
  baseUrl: string;
  apiKey: string;
}

export type KeyKind = 'tenant' | 'admin';

export function resolveConnection(
  flags: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
  kind: KeyKind = 'tenant',
): Connection {
  const baseUrl = nonEmpty(flags.url) ?? nonEmpty(env.HOURGLASS_URL) ?? DEFAULT_URL;
  if (!/^https?:\/\//.test(baseUrl))
    throw new UsageError(`the API URL must start with http:// or https://: ${baseUrl}`);
  const fromEnv =
    kind === 'admin'
      ? (nonEmpty(env.HOURGLASS_ADMIN_KEY) ?? nonEmpty(env.HOURGLASS_API_KEY))
      : nonEmpty(env.HOURGLASS_API_KEY);
  const apiKey = nonEmpty(flags['api-key']) ?? fromEnv;
  if (apiKey === undefined) {
    const vars = kind === 'admin' ? 'HOURGLASS_ADMIN_KEY (or HOURGLASS_API_KEY)' : 'HOURGLASS_API_KEY';
    throw new UsageError(`no API key: set ${vars} or pass --api-key`);
  }
  return { baseUrl, apiKey };
}

export function connect(flags: ConnectionFlags, kind: KeyKind = 'tenant'): HourglassClient {
  return new HourglassClient(resolveConnection(flags, process.env, kind));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
