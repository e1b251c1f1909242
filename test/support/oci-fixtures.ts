// Test images and registries, from Debian packages only (no public registry is reachable): a busybox image
// (the host's static busybox and its applets) and a Python image (python3.11-minimal and the libraries it
// needs, from `apt-get download`), built with umoci into OCI layouts cached under /var/tmp, and pushed with
// skopeo to docker-registry instances on loopback — one open, one behind basic auth (htpasswd, bcrypt).

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BUSYBOX, buildBusyboxRootfs, commandWorks } from './container-fixtures.js';

const run = promisify(execFile);
const IMAGES_DIR = '/var/tmp/hourglass-test-images';

/** skopeo, umoci and docker-registry installed (with runc and busybox: see CAN_RUN_CONTAINERS). */
export const HAS_IMAGE_TOOLS =
  commandWorks('skopeo', ['--version']) &&
  commandWorks('umoci', ['--version']) &&
  existsSync('/usr/bin/docker-registry') &&
  existsSync(BUSYBOX);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface TestRegistry {
  /** 127.0.0.1:port */
  host: string;
  /** The login of a registry behind basic auth; null for an open one. */
  login: { username: string; password: string } | null;
  /** Pushes an OCI layout's image (`dir:tag`) as `repository:tag`; returns the manifest digest. */
  push(layout: string, target: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestRegistry(options: { auth?: boolean } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'hg-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let login: TestRegistry['login'] = null;
  let authConfig = '';
  if (options.auth === true) {
    login = { username: 'tenant-a', password: `pw-${Math.random().toString(36).slice(2)}` };
    // bcrypt, as the registry's htpasswd requires, by the C library's crypt(3) (libxcrypt).
    const hash = execFileSync(
      'python3',
      [
        '-W',
        'ignore',
        '-c',
        'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))',
        login.password,
      ],
      { encoding: 'utf8' },
    ).trim();
    writeFileSync(join(dir, 'htpasswd'), `${login.username}:${hash}\n`);
    authConfig = `auth:\n  htpasswd:\n    realm: hourglass-test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n${authConfig}`,
  );
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`http://${host}/v2/`);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    host,
    login,
    async push(layout, target) {
      const creds =
        login === null ? ['--dest-no-creds'] : ['--dest-creds', `${login.username}:${login.password}`];
      const digestFile = join(dir, `digest-${Math.random().toString(36).slice(2)}`);
      await run('skopeo', [
        'copy',
        '--quiet',
        '--dest-tls-verify=false',
        ...creds,
        '--digestfile',
        digestFile,
        `oci:${layout}`,
        `docker://${host}/${target}`,
      ]);
      return execFileSync('cat', [digestFile], { encoding: 'utf8' }).trim();
    },
    async stop() {
      child.kill('SIGKILL');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An OCI layout with one image tagged `image`, made from a rootfs directory, with its config set. */
async function layoutFromRootfs(
  name: string,
  fill: (rootfs: string) => Promise<void> | void,
  config: string[],
): Promise<string> {
  const layout = join(IMAGES_DIR, name);
  if (existsSync(join(layout, 'index.json')) && existsSync(join(layout, '.complete')))
    return `${layout}:image`;
  rmSync(layout, { recursive: true, force: true });
  mkdirSync(IMAGES_DIR, { recursive: true });
  const work = mkdtempSync(join(IMAGES_DIR, 'build-'));
  try {
    await run('umoci', ['init', '--layout', layout]);
    await run('umoci', ['new', '--image', `${layout}:image`]);
    const bundle = join(work, 'bundle');
    await run('umoci', ['unpack', '--image', `${layout}:image`, bundle]);
    await fill(join(bundle, 'rootfs'));
    await run('umoci', ['repack', '--image', `${layout}:image`, bundle]);
    await run('umoci', ['config', '--image', `${layout}:image`, ...config]);
    await run('umoci', ['gc', '--layout', layout]);
    writeFileSync(join(layout, '.complete'), '');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return `${layout}:image`;
}

/** busybox: /bin/sh and its applets, Cmd /bin/sh, PATH=/bin. */
export function buildBusyboxImage(): Promise<string> {
  return layoutFromRootfs(
    'busybox-v1',
    async (rootfs) => {
      const built = buildBusyboxRootfs(mkdtempSync(join(IMAGES_DIR, 'bb-')));
      await run('cp', ['-a', `${built}/.`, rootfs]);
      await run('chown', ['-R', '-h', '0:0', rootfs]); // owned by root in the image; umoci maps it at unpack
      rmSync(join(built, '..'), { recursive: true, force: true });
    },
    [
      '--config.cmd',
      '/bin/sh',
      '--config.env',
      'PATH=/usr/local/bin:/usr/bin:/bin',
      '--config.workingdir',
      '/',
    ],
  );
}

const PYTHON_PACKAGES = ['python3.11-minimal', 'libpython3.11-minimal', 'libc6', 'zlib1g', 'libexpat1'];

/** Python 3.11 (minimal) from Debian's packages, with busybox for a shell: about 26 MiB. */
export function buildPythonImage(): Promise<string> {
  return layoutFromRootfs(
    'python-v1',
    async (rootfs) => {
      const debs = join(IMAGES_DIR, 'debs');
      mkdirSync(debs, { recursive: true });
      if (readdirSync(debs).filter((f) => f.endsWith('.deb')).length < PYTHON_PACKAGES.length) {
        await run('apt-get', ['download', ...PYTHON_PACKAGES], { cwd: debs });
      }
      for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb')))
        await run('dpkg-deb', ['-x', join(debs, deb), rootfs]);
      symlinkSync('python3.11', join(rootfs, 'usr', 'bin', 'python3'));
      mkdirSync(join(rootfs, 'bin'), { recursive: true });
      await run('cp', [BUSYBOX, join(rootfs, 'bin', 'busybox')]);
      for (const applet of ['sh', 'cat', 'ls', 'echo', 'sleep', 'id'])
        if (!existsSync(join(rootfs, 'bin', applet))) symlinkSync('busybox', join(rootfs, 'bin', applet));
      mkdirSync(join(rootfs, 'tmp'), { recursive: true, mode: 0o1777 });
      await run('chmod', ['1777', join(rootfs, 'tmp')]);
      mkdirSync(join(rootfs, 'etc'), { recursive: true });
      writeFileSync(
        join(rootfs, 'etc', 'passwd'),
        'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n',
      );
    },
    [
      '--config.cmd',
      '/usr/bin/python3',
      '--config.env',
      'PATH=/usr/bin:/bin',
      '--config.env',
      'LANG=C.UTF-8',
      '--config.workingdir',
      '/',
    ],
  );
}

/** Kinds of hostile layer, each trying to write `hg-escape-<kind>` outside the image's root. */
export type HostileLayer = 'slip' | 'absolute' | 'symlink' | 'hardlink' | 'inside-symlink';

/**
 * A busybox image with one more layer, crafted by Python's tarfile (no tool writes such a layer on purpose).
 * `inside-symlink` is the benign case: a relative symlink that stays in the tree (usrmerge's bin -> usr/bin).
 */
export async function buildHostileImage(kind: HostileLayer, escapeDir: string): Promise<string> {
  const base = (await buildBusyboxImage()).replace(/:image$/, '');
  const layout = mkdtempSync(join(tmpdir(), `hg-hostile-${kind}-`));
  await run('cp', ['-a', `${base}/.`, layout]);
  const tarPath = join(layout, '..', `${layout.split('/').pop()}.tar`);
  const depth = '../'.repeat(12);
  const entries: Record<HostileLayer, string> = {
    slip: `file('${depth}${escapeDir.slice(1)}/hg-escape-slip')`,
    absolute: `file('${escapeDir}/hg-escape-absolute')`,
    symlink: `sym('out', '${escapeDir}'); file('out/hg-escape-symlink')`,
    hardlink: `hard('passwd-link', '${depth}etc/passwd')`,
    'inside-symlink': `os.makedirs('x', exist_ok=True); d('usr2'); sym('bin2', 'usr2'); file('bin2/tool')`,
  };
  const script = [
    'import io, os, sys, tarfile',
    't = tarfile.open(sys.argv[1], "w")',
    'def file(name):',
    '    i = tarfile.TarInfo(name); data = b"escaped"; i.size = len(data); t.addfile(i, io.BytesIO(data))',
    'def d(name):',
    '    i = tarfile.TarInfo(name); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)',
    'def sym(name, target):',
    '    i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target; t.addfile(i)',
    'def hard(name, target):',
    '    i = tarfile.TarInfo(name); i.type = tarfile.LNKTYPE; i.linkname = target; t.addfile(i)',
    entries[kind].replace("os.makedirs('x', exist_ok=True); ", ''),
    't.close()',
  ].join('\n');
  execFileSync('python3', ['-c', script, tarPath]);
  await run('umoci', ['raw', 'add-layer', '--image', `${layout}:image`, tarPath]);
  rmSync(tarPath, { force: true });
  return `${layout}:image`;
}
