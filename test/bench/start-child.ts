import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** A benchmark's helper process, and what it printed once it was ready. */
export interface BenchChild<T> {
  child: ChildProcess;
  ready: T;
  /** SIGTERM, then resolves once it has exited. */
  stop: () => Promise<void>;
}

/**
 * Runs one of this folder's scripts (`node --import tsx test/bench/<script> <json>`) in a process of its
 * own, so what it does runs beside the process measured, as on another machine or in another service;
 * resolves with the one JSON line it prints once ready. Its stderr is this process's. `dir` runs the
 * script from another tree (a reference checkout).
 */
export function startChild<T>(script: string, options: unknown, where: { dir?: string } = {}): Promise<BenchChild<T>> {
  // BENCH_CPU_PROFILE=<dir>: each helper writes a CPU profile there when it exits (see where its time goes).
  const profile = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(where.dir ?? import.meta.dirname, script), JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, ready: JSON.parse(line) as T, stop }));
  });
}
