import type { Redis } from 'ioredis';
import { keys } from '../queue/names.js';
import type { RunnersView } from './runner-view.js';

/** What App Home shows of the last fleet-wide `runners` view: counts by status and mismatches. */
export interface RunnersSummary {
  at: number;
  scope: RunnersView['scope'];
  counts: RunnersView['counts'];
  paused: number;
  mismatches: number;
}

export async function saveRunnersSummary(redis: Redis, prefix: string, view: RunnersView): Promise<void> {
  const summary: RunnersSummary = { at: view.at, scope: view.scope, counts: view.counts, paused: view.paused, mismatches: view.mismatches.length };
  await redis.set(keys.runnersSummary(prefix), JSON.stringify(summary));
}

/** The last fleet-wide summary; undefined before the first `runners all` (or when unreadable). */
export async function readRunnersSummary(redis: Redis, prefix: string): Promise<RunnersSummary | undefined> {
  const raw = await redis.get(keys.runnersSummary(prefix));
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as RunnersSummary;
  } catch {
    return undefined;
  }
}
