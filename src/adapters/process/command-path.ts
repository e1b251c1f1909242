// Finding a command the way the shell that will exec it does, before a gated launch. A gated process is a
// shell that execs the command only at its start time; a missing command would then fail as "exit 127"
// instead of the ENOENT an ungated spawn reports, so the lookup is done here first, with the same answer.

import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/** dash's (our /bin/sh's) search path when the environment has no PATH. */
const SHELL_DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Why a command cannot be started, as the errno an ungated spawn would have failed with. */
export type CommandLookupError = { code: 'ENOENT' | 'EACCES'; message: string };

/**
 * Null when `command` names an executable file (directly when it has a slash, else on PATH), else the error
 * `execvp` would give: EACCES when only non-executable candidates were found, ENOENT when none.
 */
export function findCommandError(
  command: string,
  envPath: string | undefined,
  cwd: string,
): CommandLookupError | null {
  const candidates = command.includes('/')
    ? [isAbsolute(command) ? command : join(cwd, command)]
    : (envPath ?? SHELL_DEFAULT_PATH)
        .split(':')
        // An empty PATH entry means the current directory.
        .map((dir) => join(dir === '' ? cwd : isAbsolute(dir) ? dir : join(cwd, dir), command));
  let denied = false;
  for (const candidate of candidates) {
    const found = probe(candidate);
    if (found === 'executable') return null;
    if (found === 'denied') denied = true;
  }
  return denied
    ? { code: 'EACCES', message: `spawn ${command} EACCES` }
    : { code: 'ENOENT', message: `spawn ${command} ENOENT` };
}

function probe(path: string): 'executable' | 'denied' | 'missing' {
  try {
    // No exception for the usual miss (most PATH entries): throwing costs more than the stat itself.
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats === undefined) return 'missing';
    if (!stats.isFile()) return 'denied';
    accessSync(path, constants.X_OK);
    return 'executable';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EACCES' ? 'denied' : 'missing';
  }
}
