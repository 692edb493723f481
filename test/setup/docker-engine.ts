import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** Resolves true when the engine answers `GET /_ping` within `timeoutMs`. */
export async function pingEngine(docker: Docker, timeoutMs = 3000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([
      docker.ping().then(
        () => true,
        () => false,
      ),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The machine's main Docker Engine (/var/run/docker.sock), started by test/setup/ensure-system.sh when
 * none answers. Other test files use it at the same time: never prune it.
 */
export async function ensureDockerEngine(): Promise<Docker> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  if (await pingEngine(docker)) return docker;
  await run('bash', [path.join(REPO_ROOT, 'test/setup/ensure-system.sh')], { timeout: 120_000 });
  if (!(await pingEngine(docker, 10_000))) {
    throw new Error('no Docker Engine answers on /var/run/docker.sock; run "bash test/setup/ensure-system.sh"');
  }
  return docker;
}

/** A dockerd of our own, for tests that prune (a prune always acts on the whole engine). */
export interface PrivateDockerd {
  docker: Docker;
  /** `unix:///tmp/.../docker.sock`, for the docker CLI's `-H`. */
  host: string;
  socketPath: string;
  /** Its data root (volumes live under `<dataRoot>/volumes`). */
  dataRoot: string;
  /** Stops dockerd and removes every directory it used. */
  stop: () => Promise<void>;
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** Lazily unmounts whatever dockerd left mounted under `dir`, deepest first. */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mounts', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((target) => target.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const target of mounts) {
    await run('umount', ['-l', target]).catch(() => undefined);
  }
}

/**
 * Starts a private dockerd (own data root, exec root, pid file and socket under a fresh /tmp directory,
 * its own bridge interface, no iptables) and waits until it answers. Needs root, like the main engine's
 * setup.
 *
 * Not `--bridge=none`: dockerd then DELETES the host's `docker0`, which breaks the main engine's default
 * network for everyone. A bridge interface of our own (removed in `stop`) leaves docker0 alone.
 */
export async function startPrivateDockerd(): Promise<PrivateDockerd> {
  await ensureDockerEngine();
  const dir = await mkdtemp('/tmp/rod-');
  const bridge = `rod${randomBytes(5).toString('hex')}`;
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? 'the private dockerd needs the "ip" command; install iproute2' : `cannot create bridge ${bridge}: ${err.message}`);
  });
  const socketPath = path.join(dir, 'docker.sock');
  const dataRoot = path.join(dir, 'root');
  const log = await open(path.join(dir, 'dockerd.log'), 'a');
  const child = spawn(
    'dockerd',
    [
      `--data-root=${dataRoot}`,
      `--exec-root=${path.join(dir, 'exec')}`,
      `--pidfile=${path.join(dir, 'dockerd.pid')}`,
      `-H=unix://${socketPath}`,
      `--bridge=${bridge}`,
      '--iptables=false',
      '--ip-masq=false',
      '--ip6tables=false',
    ],
    { stdio: ['ignore', log.fd, log.fd], detached: false },
  );
  await log.close();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const docker = new Docker({ socketPath });

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.pid !== undefined) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child.pid, 20_000))) child.kill('SIGKILL');
      await exited;
    }
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    await run('ip', ['link', 'del', bridge]).catch(() => undefined);
  };

  const deadline = Date.now() + 30_000;
  while (!(await pingEngine(docker, 1000))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const tail = await readFile(path.join(dir, 'dockerd.log'), 'utf8').catch(() => '');
      await stop();
      throw new Error(`private dockerd did not start: ${tail.split('\n').slice(-5).join(' | ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { docker, host: `unix://${socketPath}`, socketPath, dataRoot, stop };
}

/** Runs the docker CLI against `host` (default: the main engine) and returns its stdout. */
export async function runDockerCli(args: string[], host?: string, timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run('docker', host ? ['-H', host, ...args] : args, { timeout: timeoutMs, maxBuffer: 64 << 20 });
  return stdout;
}
