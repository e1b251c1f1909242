// How a command is declared and run: its flags (parsed by node:util parseArgs, strictly), its positional
// arguments, an optional literal tail after `--`, and its help. Groups (`jobs`, `runs`, …) dispatch to
// their subcommands. A command returns its exit code; bad usage throws UsageError (exit 2).

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { splitAtTerminator, UsageError, type ArgToken } from './args.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS } from './options.js';
import { printErr, printOut } from './output.js';

type Options = NonNullable<ParseArgsConfig['options']>;

type Values<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O & typeof CONNECTION_OPTIONS; allowPositionals: true; strict: true }>
>['values'];

export interface CommandInput<O extends Options> {
  values: Values<O>;
  /** The positional arguments, in the order of `CommandSpec.args`. */
  args: string[];
  /** Everything after `--`, or null when there was no `--`. */
  afterDash: string[] | null;
}

export interface CommandSpec<O extends Options> {
  /** `hourglass jobs get <job> [--json]` */
  usage: string;
  summary: string;
  /** Argument and flag descriptions, printed under the usage line. */
  help: string;
  options: O;
  /** Names of the required positional arguments, e.g. `['<job>']`. */
  args?: readonly string[];
  /** Whether the command takes a literal tail after `--`. */
  acceptsDash?: boolean;
  run(input: CommandInput<O>): Promise<number>;
}

export interface Command {
  usage: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

export interface Group {
  name: string;
  summary: string;
  commands: Record<string, Command>;
}

export function defineCommand<O extends Options>(spec: CommandSpec<O>): Command {
  return {
    usage: spec.usage,
    summary: spec.summary,
    run: async (argv) => {
      try {
        return await runCommand(spec, argv);
      } catch (error) {
        if (error instanceof UsageError) error.usage ??= spec.usage;
        throw error;
      }
    },
  };
}

async function runCommand<O extends Options>(spec: CommandSpec<O>, argv: string[]): Promise<number> {
  const options = { ...CONNECTION_OPTIONS, ...spec.options };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw toUsageError(error);
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    printOut(`Usage: ${spec.usage}\n\n${spec.summary}\n\n${spec.help}\n\n${CONNECTION_HELP}`);
    return 0;
  }
  const { positionals, afterDash } = splitAtTerminator(parsed.tokens as ArgToken[]);
  const names = spec.args ?? [];
  if (positionals.length < names.length) throw new UsageError(`missing ${names[positionals.length]}`);
  if (positionals.length > names.length)
    throw new UsageError(`unexpected argument '${positionals[names.length]}'`);
  if (afterDash !== null && spec.acceptsDash !== true) {
    throw new UsageError(`unexpected arguments after '--': ${afterDash.join(' ')}`);
  }
  return spec.run({ values: parsed.values as Values<O>, args: positionals, afterDash });
}

/** Runs `hourglass <group> <command> …`; `leading` are the flags given before the group's name. */
export async function runGroup(group: Group, argv: string[], leading: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    printOut(formatGroupHelp(group));
    return 0;
  }
  if (name === undefined) {
    printErr(formatGroupHelp(group));
    return 2;
  }
  const command = Object.hasOwn(group.commands, name) ? group.commands[name] : undefined;
  if (command === undefined) {
    throw new UsageError(
      `unknown command '${group.name} ${name}'`,
      `hourglass ${group.name} <command> [flags]`,
    );
  }
  return command.run([...leading, ...rest]);
}

export function formatGroupHelp(group: Group): string {
  const prefix = `hourglass ${group.name} `;
  const usages = Object.values(group.commands).map((c) => [c.usage.replace(prefix, ''), c.summary] as const);
  const width = Math.max(...usages.map(([usage]) => usage.length));
  const lines = usages.map(([usage, summary]) => `  ${usage.padEnd(width)}  ${summary}`);
  return `Usage: hourglass ${group.name} <command> [flags]\n\n${group.summary}\n\nCommands:\n${lines.join('\n')}\n\nRun 'hourglass ${group.name} <command> --help' for a command's flags.`;
}

/** parseArgs errors (unknown flag, missing value) as UsageError, with the message made short. */
function toUsageError(error: unknown): Error {
  if (!(error instanceof Error) || !('code' in error) || typeof error.code !== 'string')
    return error as Error;
  if (!error.code.startsWith('ERR_PARSE_ARGS')) return error;
  const flag = /'([^']+)'/.exec(error.message)?.[1];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag !== undefined) {
    return new UsageError(`unknown flag '${flag}'`);
  }
  return new UsageError(error.message.split('. ')[0] ?? error.message);
}
