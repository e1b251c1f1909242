// `hourglass registries …`: the tenant's registry logins, used by workers to pull its private images. The
// password is read from stdin only (`--password-stdin`): a command line is readable by every user of the host.

import { UsageError } from '../args.js';
import { defineCommand, type Group } from '../command.js';
import { connect } from '../options.js';
import { formatTable, formatTime, printErr, printJson, printOut } from '../output.js';

/** All of stdin, one trailing newline dropped (`echo "$TOKEN" | …` and a typed line both work). */
async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) printErr('password (then Enter and Ctrl-D):');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const login = defineCommand({
  usage: 'hourglass registries login <host> --username U --password-stdin [--json]',
  summary: 'Store your login for a registry host (replacing any): workers use it to pull your images.',
  help: `  <host>                The registry, host[:port]: registry.example.com, ghcr.io, 10.0.0.5:5000
  --username U          The registry username (for a token: whatever the registry asks, e.g. oauth2accesstoken)
  --password-stdin      Read the password or token from stdin (required: never give it on the command line)
  --json                Print {host, username, createdAt, updatedAt}

  printf '%s' "$TOKEN" | hourglass registries login ghcr.io --username me --password-stdin`,
  options: {
    username: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    password: { type: 'string' }, // refused with its reason below
    json: { type: 'boolean' },
  },
  args: ['<host>'],
  async run({ values, args: [host = ''] }) {
    if (values.password !== undefined) {
      throw new UsageError(
        '--password is not accepted: every user of the host can read a command line; use --password-stdin',
      );
    }
    if (values.username === undefined) throw new UsageError('missing --username U');
    if (values['password-stdin'] !== true) throw new UsageError('missing --password-stdin');
    const password = await readPasswordFromStdin();
    if (password === '') throw new UsageError('no password on stdin');
    const stored = await connect(values).loginRegistry(host, { username: values.username, password });
    if (values.json === true) printJson(stored);
    else printOut(`logged in to ${stored.host} as ${stored.username}`);
    return 0;
  },
});

const list = defineCommand({
  usage: 'hourglass registries list [--json]',
  summary: 'List your registry logins: hosts and usernames (never passwords).',
  help: '  --json                Print {items: [{host, username, createdAt, updatedAt}]}',
  options: { json: { type: 'boolean' } },
  async run({ values }) {
    const logins = await connect(values).listRegistryLogins();
    if (values.json === true) {
      printJson({ items: logins });
      return 0;
    }
    const rows = logins.map((l) => [l.host, l.username, formatTime(l.updatedAt)]);
    printOut(formatTable(['HOST', 'USERNAME', 'UPDATED'], rows));
    return 0;
  },
});

const logout = defineCommand({
  usage: 'hourglass registries logout <host>',
  summary: 'Remove your login for a registry host; its images are then pulled anonymously.',
  help: '<host> as given to login (host[:port]).',
  options: {},
  args: ['<host>'],
  async run({ values, args: [host = ''] }) {
    await connect(values).logoutRegistry(host);
    printOut(`logged out of ${host}`);
    return 0;
  },
});

export const registriesGroup: Group = {
  name: 'registries',
  summary: 'Registry logins: credentials your image jobs are pulled with, kept sealed on the server.',
  commands: { login, list, logout },
};
