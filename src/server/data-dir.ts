// Data at rest: the data directory is its owner's alone (0700), and so are the files in it that hold tenants'
// data or secrets (0600): the SQLite database with its WAL and shared-memory files, the run logs, and the
// first-start credentials and the registry credentials key. `hourglass server` sets the umask to 077 before
// anything is created, so new files
// get these modes; this module gives them to what an older Hourglass, a copy or a restore left looser.
// Symbolic links are left alone (a chmod would follow one out of the directory).

import { chmodSync, lstatSync, mkdirSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export const DATABASE_FILE = 'hourglass.db';
export const LOGS_DIR = 'logs';
export const CREDENTIALS_FILE = 'first-start-credentials.txt';
/** The key sealing registry passwords, when the operator gives none (server/credentials-key.ts). */
export const CREDENTIALS_KEY_FILE = 'registry-credentials.key';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

function statOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Gives `path` `mode` if it is a directory or regular file with looser permissions; true when it changed. */
function tighten(path: string, stat: Stats | null, mode: number): boolean {
  if (stat === null || stat.isSymbolicLink()) return false;
  if ((stat.mode & 0o777 & ~mode) === 0) return false;
  chmodSync(path, stat.mode & 0o777 & mode);
  return true;
}

/**
 * Creates the data directory (0700) or makes an existing one 0700, before anything is opened in it; true when
 * it had looser permissions (a copy, a restore, an older Hourglass).
 */
export function prepareDataDir(dataDir: string): boolean {
  mkdirSync(dataDir, { recursive: true, mode: DIR_MODE });
  return tighten(dataDir, statOrNull(dataDir), DIR_MODE);
}

/**
 * Takes group and other permissions off the files Hourglass keeps in the data directory; returns how many
 * it changed. The run logs (`logs/<runId>.log`, possibly millions) are walked only when the data directory or
 * the logs directory was loose: with both at 0700 no other user can reach a log whatever its own mode, and
 * every log this version writes is 0600 already. A walk costs 12–25 µs a file (docs/benchmarks.md).
 */
export function tightenDataFiles(dataDir: string, dataDirWasLoose: boolean): number {
  let changed = 0;
  const db = join(dataDir, DATABASE_FILE);
  for (const path of [
    db,
    `${db}-wal`,
    `${db}-shm`,
    `${db}-journal`,
    join(dataDir, CREDENTIALS_FILE),
    join(dataDir, CREDENTIALS_KEY_FILE),
  ]) {
    if (tighten(path, statOrNull(path), FILE_MODE)) changed++;
  }
  const logs = join(dataDir, LOGS_DIR);
  const logsStat = statOrNull(logs);
  if (logsStat === null || !logsStat.isDirectory()) return changed;
  const logsWereLoose = tighten(logs, logsStat, DIR_MODE);
  if (logsWereLoose) changed++;
  if (!logsWereLoose && !dataDirWasLoose) return changed;
  for (const entry of readdirSync(logs, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(logs, entry.name);
    if (tighten(path, statOrNull(path), FILE_MODE)) changed++;
  }
  return changed;
}
