import type { Redis } from 'ioredis';
import { z } from 'zod';
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

const count = z.number().int().nonnegative();
/** Redis is input: a summary of another shape is not shown. */
const summarySchema = z.object({
  at: z.number(),
  scope: z.enum(['all', 'owned']),
  counts: z.object({ online: count, offline: count, stale: count, never_contacted: count }),
  paused: count,
  mismatches: count,
});

/** The last fleet-wide summary; undefined before the first `runners all` (or when unreadable). */
export async function readRunnersSummary(redis: Redis, prefix: string): Promise<RunnersSummary | undefined> {
  const raw = await redis.get(keys.runnersSummary(prefix));
  if (!raw) return undefined;
  try {
    const parsed = summarySchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
