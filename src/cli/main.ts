// The `hourglass` command: the server, and the client commands over the SDK. This module dispatches on the
// first word and turns errors into messages and exit codes: 2 for bad usage, 1 for API and connection
// errors, and for `run --wait` the run's outcome. A user never sees a stack trace (unless HOURGLASS_DEBUG=1).

import { readFileSync } from 'node:fs';
import { HourglassApiError, HourglassConnectionError } from '../sdk/index.js';
import { splitLeadingFlags, UsageError } from './args.js';
import { runGroup, type Group } from './command.js';
import { jobsGroup } from './commands/jobs.js';
import { keysGroup } from './commands/keys.js';
import { logsCommand } from './commands/logs.js';
import { EXIT_CODES_HELP, runCommand } from './commands/run.js';
import { registriesGroup } from './commands/registries.js';
import { runsGroup } from './commands/runs.js';
import { schedulesGroup } from './commands/schedules.js';
import { runServerCommand } from './commands/server.js';
import { tenantsGroup } from './commands/tenants.js';
import { webhooksGroup } from './commands/webhooks.js';
import { CONNECTION_HELP } from './options.js';
import { printErr, printOut } from './output.js';

const GROUPS: Record<string, Group> = {
  jobs: jobsGroup,
  runs: runsGroup,
  schedules: schedulesGroup,
  tenants: tenantsGroup,
  keys: keysGroup,
  registries: registriesGroup,
  webhooks: webhooksGroup,
};
const COMMANDS = { run: runCommand, logs: logsCommand };

const HELP = `Usage: hourglass <command> [flags]

Hourglass runs jobs now, later or on a schedule.

Commands:
  server [flags]                  Start the server (see 'hourglass server --help')
  jobs create|list|get|update|delete
                                  Define jobs: hourglass jobs create hello -- echo hello
  run <job> [--wait|--follow]     Start a run now: hourglass run hello --follow
                                  or later: hourglass run hello --at "$(date -d '+1 hour' -Is)"
  runs list|get|cancel            Look at runs, their outcome and timeline; cancel one
  schedules create|list|get|update|pause|resume|delete|preview
                                  Run a job on a schedule:
                                  hourglass schedules create hello --cron '0 9 * * 1-5' --timezone Europe/Berlin
  logs <run> [--follow]           Print a run's log
  registries login|list|logout    Logins for private image registries:
                                  hourglass registries login ghcr.io --username me --password-stdin
  webhooks create|list|get|delete|deliveries
                                  Run outcomes POSTed to your endpoint, signed:
                                  hourglass webhooks create https://hooks.example.com/x --events failed,lost
  tenants create|update|list      Tenants and their limits (admin)
  keys create|revoke              Tenant API keys (admin)
  help [command...]               Show help (same as --help on any command)

Flags go after the command; --url and --api-key may also come before it.
--json prints results as JSON for scripts; tables are for people.

${CONNECTION_HELP}
  --version             Print the version

${EXIT_CODES_HELP}`;

async function main(argv: string[]): Promise<number> {
  const { leading, rest } = splitLeadingFlags(argv);
  const [name, ...args] = rest;
  if (name === 'server') return runServerCommand([...leading, ...args]);
  if (leading.includes('--version') || name === 'version') {
    printOut(readVersion());
    return 0;
  }
  if (leading.includes('--help') || leading.includes('-h')) {
    printOut(HELP);
    return 0;
  }
  if (name === 'help') return args.length === 0 ? (printOut(HELP), 0) : main([...args, '--help']);
  if (name === undefined) {
    if (leading.length > 0)
      throw new UsageError(`unknown flag '${leading[0]}'`, 'hourglass <command> [flags]');
    printErr(HELP);
    return 2;
  }
  const group = Object.hasOwn(GROUPS, name) ? GROUPS[name] : undefined;
  if (group !== undefined) return runGroup(group, args, leading);
  if (name === 'run' || name === 'logs') return COMMANDS[name].run([...leading, ...args]);
  throw new UsageError(`unknown command '${name}'`, 'hourglass <command> [flags]');
}

/** Prints an error the way a user should see it, and returns the exit code. */
function reportError(error: unknown): number {
  if (error instanceof UsageError) {
    printErr(`error: ${error.message}`);
    if (error.usage !== undefined) printErr(`usage: ${error.usage}  (--help for more)`);
    return 2;
  }
  if (error instanceof HourglassApiError) {
    const context = [error.code, error.field].filter((part) => part !== undefined).join(', ');
    printErr(`error: ${error.detail} (${context})`);
    for (const item of error.errors ?? []) {
      if (item.field !== error.field) printErr(`  ${item.field}: ${item.message}`);
    }
    return 1;
  }
  if (error instanceof HourglassConnectionError) {
    printErr(`error: ${error.message} (is the server running? set HOURGLASS_URL or --url)`);
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  printErr(`error: ${message}`);
  if (process.env.HOURGLASS_DEBUG && error instanceof Error && error.stack) printErr(error.stack);
  return 1;
}

function readVersion(): string {
  try {
    // dist/src/cli/main.js → the package root.
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

// `hourglass logs … | head` closes stdout early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2)).catch(reportError);
