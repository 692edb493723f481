import { startChild, type BenchChild } from './start-child.js';

/**
 * Starts one process of simulated hosts (`worker-pool.ts`), so their work runs beside the process
 * measured, as a fleet's workers run on their own machines; resolves with what it printed once every
 * worker runs.
 */
export function startPool(
  hosts: string[],
  stateRoot: string,
  env: Record<string, string>,
  where: { dir?: string } = {},
): Promise<BenchChild<{ workers: number; startMs: number; rssBytes: number }>> {
  return startChild('worker-pool.ts', { hosts, stateRoot, env }, where);
}
