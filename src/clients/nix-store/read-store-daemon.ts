import { spawn } from 'node:child_process';
import path from 'node:path';
import { EdgeList, assembleSnapshot, type StoreSnapshot } from './store-snapshot.js';
import { StoreReadError } from './store-read-error.js';
import { isDerivationPath, storePathBase } from './store-path.js';
import type { FoundRoot, RootKind } from './find-gc-roots.js';

export interface DaemonOptions {
  /** The daemon's socket, e.g. `/nix/var/nix/daemon-socket/socket`. */
  socket: string;
  /** Give up on one nix command after this long. @defaultValue 600000 ms */
  timeoutMs?: number;
  /** Aborts a running nix command. */
  signal?: AbortSignal;
  /** Environment for the nix commands. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads every valid path through the nix daemon (`nix path-info --all --json`), for when the worker
 * may not read the database. Derivation outputs are not in that answer: they are taken from each
 * output's deriver, which is what DerivationOutputs holds for everything but content-addressed builds.
 */
export async function readStoreViaDaemon(options: DaemonOptions): Promise<StoreSnapshot> {
  const stdout = await runNix(
    'nix',
    ['--extra-experimental-features', 'nix-command', 'path-info', '--all', '--json', '--store', storeUri(options.socket)],
    options,
  );
  let infos: Array<{ path: string; narSize?: number; references?: string[]; deriver?: string }>;
  try {
    infos = JSON.parse(stdout) as typeof infos;
  } catch {
    throw new StoreReadError(`the nix daemon at ${options.socket} gave an answer that is not JSON; check the nix version`, 'daemon');
  }
  const count = infos.length;
  const paths = infos.map((info) => info.path);
  const storeDir = paths[0] !== undefined ? path.posix.dirname(paths[0]) : '/nix/store';
  const index = new Map<string, number>();
  paths.forEach((p, i) => index.set(p, i));
  const narSize = new Float64Array(count);
  const builtFrom = new Int32Array(count).fill(-1);
  const refs = new EdgeList();
  const outputs = new EdgeList();
  infos.forEach((info, i) => {
    narSize[i] = info.narSize ?? 0;
    for (const ref of info.references ?? []) {
      const to = index.get(ref);
      if (to !== undefined) refs.push(i, to);
    }
    const drv = info.deriver === undefined ? undefined : index.get(info.deriver);
    if (drv !== undefined && isDerivationPath(info.deriver!)) {
      builtFrom[i] = drv;
      outputs.push(drv, i);
    }
  });
  return assembleSnapshot({ storeDir, paths, narSize, builtFrom, refs, outputs });
}

/**
 * The daemon's own list of roots (`nix-store --gc --print-roots`): permanent, temporary and runtime
 * roots as the daemon sees them, with links censored when the worker is not a trusted user.
 * Returns roots for valid paths only.
 */
export async function readRootsViaDaemon(options: DaemonOptions & { storeDir: string; isValid: (base: string) => boolean }): Promise<FoundRoot[]> {
  const stdout = await runNix('nix-store', ['--gc', '--print-roots', '--store', storeUri(options.socket)], options);
  const roots: FoundRoot[] = [];
  for (const line of stdout.split('\n')) {
    const arrow = line.lastIndexOf(' -> ');
    if (arrow === -1) continue;
    const link = line.slice(0, arrow);
    const base = storePathBase(line.slice(arrow + 4), options.storeDir);
    if (base !== undefined && options.isValid(base)) roots.push({ link, base, kind: kindOfDaemonRoot(link) });
  }
  return roots;
}

function kindOfDaemonRoot(link: string): RootKind {
  if (link.startsWith('{temp:')) return 'temporary';
  if (link === '{censored}') return 'censored';
  if (link.startsWith('/proc/')) return 'runtime';
  if (link.includes('/profiles/')) return 'profile';
  return link.includes('/gcroots/') ? 'gcroot' : 'indirect';
}

/** The store URI for a daemon socket (`unix://<path>`). */
export function storeUri(socket: string): string {
  return `unix://${socket}`;
}

async function runNix(program: string, args: string[], options: DaemonOptions): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const child = spawn(program, args, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
      timeout: options.timeoutMs ?? 600_000,
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < 4000) err += chunk.toString();
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        reject(new StoreReadError(`cannot run ${program} to ask the nix daemon; install nix on the worker's PATH`, 'daemon'));
      } else {
        reject(new StoreReadError(`asking the nix daemon at ${options.socket} failed (${error.message})`, 'daemon'));
      }
    });
    child.once('close', (code, signal) => {
      if (code === 0) {
        resolve(Buffer.concat(out).toString('utf8'));
        return;
      }
      const reason = lastErrorLine(err) ?? (signal ? `stopped by ${signal}` : `exit code ${code}`);
      reject(new StoreReadError(`the nix daemon at ${options.socket} did not answer: ${reason}`, 'daemon'));
    });
  });
}

function lastErrorLine(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const error = lines.find((l) => l.startsWith('error:')) ?? lines[lines.length - 1];
  return error?.replace(/^error:\s*/, '');
}
