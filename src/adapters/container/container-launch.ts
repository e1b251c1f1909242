// How a gated container starts its process. A gated container is created before its run's start (a run handed
// over ahead, or a warm container made before its run was known): its init is the host's static busybox, bound
// read-only at GATE_PATH, running gateScript(), which reads fd 3 (a pipe of the worker's, passed in by
// `runc run --preserve-fds 1`) to its end. What the worker writes there is the launch script: the run's exact
// environment and argv, which the gate shell evaluates and `exec`s in its own place (pid 1, cwd, user, stdio
// and every limit as created). A pipe closed with nothing written is a cancel: the gate exits 125.
//
// Two rules of busybox's shell shape the launch script:
// - It runs its own applet for a command named without a slash (`ls`, `sh`, `env`, …) before any PATH
//   lookup. So the script looks the command up in the run's PATH itself, with `test`, and execs the path it
//   found, under its own name (`exec -a`), as runc's own lookup would.
// - It exports PWD and SHLVL, and a default PATH, of its own. So the script unsets those, then exports exactly
//   the run's environment. It uses no variables of its own: any might be one of the run's.
// Whatever cannot be said that way (an env name that is not a shell name, an empty argv[0]) is not gated: such
// a run is started by `runc run` at its time with the command in config.json.

import { GATE_PATH } from './runtime-spec.js';

/**
 * Reads the launch script from fd 3 to its end and evaluates it; a pipe closed unwritten exits 125. Its first
 * line says how to read the rest: `read`, the shell's builtin (no process, but a syscall a byte), or `cat`
 * (a fork and exec of busybox, but a syscall per pipe buffer) for long scripts.
 */
export function gateScript(busybox = GATE_PATH): string {
  return [
    'IFS= read -r m <&3 || exit 125',
    `if [ "$m" = cat ]; then s=$(${busybox} cat <&3); else IFS= read -r -d '' s <&3; fi`,
    'exec 3<&-',
    '[ -n "$s" ] || exit 125',
    'eval "$s"',
  ].join('; ');
}

/** Past this many bytes a script is read by `cat`: a syscall a byte costs more than a fork then. */
const READ_BUILTIN_MAX_BYTES = 4096;

/** Exit status of a gated command not found in the run's PATH (as a shell's, and runc's, is). */
export const NOT_FOUND_STATUS = 127;

/** The init of a gated container. */
export function gateArgv(): string[] {
  return [GATE_PATH, 'sh', '-c', gateScript()];
}

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The launch script of a process (`KEY=value` env entries, argv), or null when it cannot be said as one.
 * Every value is a single-quoted shell word, so nothing in it is expanded.
 */
export function launchScript(process: { argv: readonly string[]; env: readonly string[] }): string | null {
  const [command, ...args] = process.argv;
  if (command === undefined || command === '') return null;
  let path: string | null = null;
  for (const entry of process.env) {
    const name = entry.slice(0, entry.indexOf('='));
    if (!SHELL_NAME.test(name)) return null;
    if (name === 'PATH') path = entry.slice('PATH='.length);
  }
  const lines = ['unset PWD OLDPWD SHLVL PATH'];
  if (process.env.length > 0) lines.push(`export ${process.env.map(quote).join(' ')}`);
  lines.push(args.length > 0 ? `set -- ${args.map(quote).join(' ')}` : 'set --');
  for (const candidate of candidates(command, path ?? DEFAULT_PATH)) {
    const file = quote(candidate);
    lines.push(`if [ -f ${file} ] && [ -x ${file} ]; then exec -a ${quote(command)} ${file} "$@"; fi`);
  }
  const message = `hourglass: ${command}: executable file not found in $PATH`;
  lines.push(`echo ${quote(message)} >&2`, `exit ${NOT_FOUND_STATUS}`);
  const script = `${lines.join('\n')}\n`;
  return `${Buffer.byteLength(script) > READ_BUILTIN_MAX_BYTES ? 'cat' : 'read'}\n${script}`;
}

/** The files `command` may be, in PATH's order; always with a slash, so that the shell execs a file. */
function candidates(command: string, path: string): string[] {
  if (command.includes('/')) return [command];
  return path
    .split(':')
    .map((dir) => (dir === '' ? `./${command}` : `${dir.replace(/\/+$/, '')}/${command}`));
}

function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
