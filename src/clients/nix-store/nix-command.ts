import { spawn } from 'node:child_process';
import type Docker from 'dockerode';
import { execInContainer } from '../docker/exec-in-container.js';

/** What one nix command printed and how it ended. */
export interface NixCommandResult {
  /** null when it timed out. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a nix program against one store's daemon: `nix-store ...` with `--store daemon` (or the socket)
 * added, so the daemon does the work with its own locks, exactly as the runners' jobs reach it.
 */
export interface NixCommand {
  /** For messages: `container gitlabnix` or `unix:///nix/var/nix/daemon-socket/socket`. */
  label: string;
  run: (program: 'nix-store' | 'nix', args: string[], options: { timeoutMs: number; signal?: AbortSignal }) => Promise<NixCommandResult>;
}

const withStore = (program: 'nix-store' | 'nix', args: string[], store: string): string[] => [
  program,
  ...(program === 'nix' ? ['--extra-experimental-features', 'nix-command'] : []),
  ...args,
  '--store',
  store,
];

/** Runs nix inside the nix-daemon container (docker exec), talking to the daemon there: the seed's second setup. */
export function nixInContainer(docker: Docker, container: string): NixCommand {
  return {
    label: `container ${container}`,
    run: async (program, args, options) => {
      const result = await execInContainer(docker, container, withStore(program, args, 'daemon'), options);
      return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
    },
  };
}

/** Runs the worker's own nix against a daemon socket on this machine (NIX_REMOTE=daemon style). */
export function nixOnSocket(socket: string, env: NodeJS.ProcessEnv = process.env): NixCommand {
  const store = `unix://${socket}`;
  return {
    label: store,
    run: (program, args, options) =>
      new Promise((resolve, reject) => {
        const [cmd, ...rest] = withStore(program, args, store);
        const child = spawn(cmd!, rest, { env, stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal, timeout: options.timeoutMs });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (c: Buffer) => out.push(c));
        child.stderr.on('data', (c: Buffer) => err.push(c));
        child.once('error', (error: NodeJS.ErrnoException) => {
          // Said as nix would say it, so the caller reports it in one line like any other nix failure.
          if (error.code === 'ENOENT') resolve({ exitCode: 127, stdout: '', stderr: `error: cannot run ${program}; install nix on the worker's PATH` });
          else if (error.name !== 'AbortError') reject(error);
        });
        child.once('close', (code, killed) => {
          resolve({ exitCode: killed ? null : code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
        });
      }),
  };
}
