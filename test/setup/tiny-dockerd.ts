import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { ensureDockerEngine, pingEngine } from './docker-engine.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A dockerd whose data root is a tmpfs of its own: its free space is ours to steer. */
export interface TinyDockerd {
  docker: Docker;
  host: string;
  dir: string;
  dataRoot: string;
  stop: () => Promise<void>;
}

export async function startTinyDockerd(sizeMb: number): Promise<TinyDockerd> {
  await ensureDockerEngine();
  const dir = await mkdtemp('/tmp/rodw-');
  const dataRoot = path.join(dir, 'root');
  await mkdir(dataRoot);
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dataRoot]);
  // A bridge of our own: `--bridge=none` would delete the main engine's docker0.
  const bridge = `rodw${randomBytes(4).toString('hex')}`;
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  const socketPath = path.join(dir, 'docker.sock');
  const out = await open(path.join(dir, 'dockerd.log'), 'a');
  const child = spawn(
    'dockerd',
    [
      `--data-root=${dataRoot}`,
      `--exec-root=${path.join(dir, 'exec')}`,
      `--pidfile=${path.join(dir, 'pid')}`,
      `-H=unix://${socketPath}`,
      `--bridge=${bridge}`,
      '--iptables=false',
      '--ip-masq=false',
      '--ip6tables=false',
    ],
    { stdio: ['ignore', out.fd, out.fd] },
  );
  await out.close();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const docker = new Docker({ socketPath });
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
    }
    const mounts = (await readFile('/proc/self/mounts', 'utf8'))
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((t) => t.startsWith(`${dir}/`));
    for (const target of mounts.sort((a, b) => b.length - a.length)) await run('umount', ['-l', target]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    await run('ip', ['link', 'del', bridge]).catch(() => undefined);
  };
  const deadline = Date.now() + 30_000;
  while (!(await pingEngine(docker, 1000))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error('the tmpfs dockerd did not start');
    }
    await sleep(100);
  }
  return { docker, host: `unix://${socketPath}`, dir, dataRoot, stop };
}
