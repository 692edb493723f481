import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { logPath } from './run-dir.js';

/** The built binary, run as an operator would (`npm run test:reliability` builds it first). */
export const CLI = path.resolve(import.meta.dirname, '../../../dist/src/cli.js');

export interface RunnerProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Resolves when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether it is still running. */
  alive: () => boolean;
  /** Resident memory (VmRSS) in KiB, read from /proc. */
  rssKib: () => Promise<number>;
  /** What it wrote to stdout and stderr so far (logs/<name>.log). */
  output: () => Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
  stop: (graceMs?: number) => Promise<void>;
}

/**
 * Starts `node dist/src/cli.js <args>` with only `env` (plus PATH and HOME), its stdout and stderr
 * appended to logs/<name>.log in the run directory.
 */
export function spawnRunnerops(name: string, args: string[], env: Record<string, string>): RunnerProcess {
  const file = logPath(name);
  const fd = openSync(file, 'a');
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir(), ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const handle: RunnerProcess = {
    name,
    pid: child.pid!,
    child,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    rssKib: async () => {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    },
    output: () => readFile(file, 'utf8').catch(() => ''),
    stop: async (graceMs = 10_000) => {
      if (!handle.alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return handle;
}

/** Runs the binary to the end (a CLI verb) and returns its exit code and output. */
export async function runRunnerops(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir(), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`runnerops ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
