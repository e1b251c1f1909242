// What the container's process is, from the image's config and the job: argv, environment, working
// directory and user, with Docker's precedence (a job's command replaces Entrypoint and Cmd; its args alone
// replace Cmd; its env overrides the image's).

import { readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageRunConfig } from '../../ports/images.js';

export interface ContainerProcess {
  argv: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
}

export class ContainerProcessError extends Error {}

export async function resolveContainerProcess(
  config: ImageRunConfig,
  rootfs: string,
  job: { command: string[]; args: string[]; env: Record<string, string> },
): Promise<ContainerProcess> {
  const argv =
    job.command.length > 0
      ? [...job.command, ...job.args]
      : [...config.entrypoint, ...(job.args.length > 0 ? job.args : config.cmd)];
  if (argv.length === 0) {
    throw new ContainerProcessError(
      'nothing to run: the job has no command and the image no Entrypoint or Cmd',
    );
  }
  const env = new Map<string, string>();
  for (const entry of config.env) {
    const at = entry.indexOf('=');
    if (at > 0) env.set(entry.slice(0, at), entry.slice(at + 1));
  }
  if (!env.has('PATH')) env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  for (const [key, value] of Object.entries(job.env)) env.set(key, value);
  const { uid, gid } = await resolveUser(config.user, rootfs);
  return {
    argv,
    env: [...env].map(([key, value]) => `${key}=${value}`),
    cwd: config.workingDir === '' ? '/' : config.workingDir,
    uid,
    gid,
  };
}

/** "", "uid", "uid:gid", "name" or "name:group", names looked up in the image's own /etc/passwd and /etc/group. */
async function resolveUser(user: string, rootfs: string): Promise<{ uid: number; gid: number }> {
  if (user === '') return { uid: 0, gid: 0 };
  const [userPart = '', groupPart] = user.split(':', 2);
  const passwd = await readIdFile(rootfs, 'etc/passwd');
  let uid: number;
  let gid: number;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    gid = passwd.find((entry) => entry.id === uid)?.gid ?? uid;
  } else {
    const entry = passwd.find((candidate) => candidate.name === userPart);
    if (entry === undefined)
      throw new ContainerProcessError(`the image's user ${userPart} is not in its /etc/passwd`);
    uid = entry.id;
    gid = entry.gid;
  }
  if (groupPart !== undefined) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const group = (await readIdFile(rootfs, 'etc/group')).find((entry) => entry.name === groupPart);
      if (group === undefined)
        throw new ContainerProcessError(`the image's group ${groupPart} is not in its /etc/group`);
      gid = group.id;
    }
  }
  return { uid, gid };
}

interface IdEntry {
  name: string;
  id: number;
  gid: number;
}

/** passwd(5) or group(5) lines: name:x:id:gid… (a group's third field is its id; gid is unused there). */
async function readIdFile(rootfs: string, path: string): Promise<IdEntry[]> {
  let text: string;
  try {
    // The image is the tenant's: a symlink there must not make the worker read a file of the host's.
    const real = await realpath(join(rootfs, path));
    if (!real.startsWith(`${await realpath(rootfs)}/`)) return [];
    text = await readFile(real, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((line) => line.split(':'))
    .filter((fields) => fields.length >= 3 && /^\d+$/.test(fields[2] ?? ''))
    .map((fields) => ({ name: fields[0] ?? '', id: Number(fields[2]), gid: Number(fields[3] ?? fields[2]) }));
}
