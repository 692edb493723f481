import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Starts one process of simulated hosts (`worker-pool.ts`), so their work runs beside the process
 * measured, as a fleet's workers run on their own machines; resolves with what it printed once every
 * worker runs. SIGTERM stops it.
 */
export function startPool(
  hosts: string[],
  stateRoot: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; ready: { workers: number; startMs: number; rssBytes: number } }> {
  const script = path.join(import.meta.dirname, 'worker-pool.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify({ hosts, stateRoot, env })], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker pool exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) =>
      resolve({ child, ready: JSON.parse(line) as { workers: number; startMs: number; rssBytes: number } }),
    );
  });
}
