import { describe, expect, it } from 'vitest';
import type { StaleRunner } from '../../src/clients/gitlab/stale-runners.js';
import type { ExecuteDeps } from '../../src/verbs/execute-deps.js';
import { findStaleFirst } from '../../src/verbs/find-stale-first.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const runner = (id: number): StaleRunner => ({ id, description: `r${id}`, type: 'instance_type', contactedAt: '2026-01-01T00:00:00Z', createdAt: null });

/** Only what findStaleFirst reads of the bot's dependencies. */
function depsFinding(stale: StaleRunner[], cutoffs: number[] = []): ExecuteDeps {
  const findStaleRunners = async (cutoff: number) => {
    cutoffs.push(cutoff);
    return stale;
  };
  return { findStaleRunners } as Partial<ExecuteDeps> as ExecuteDeps;
}

describe('findStaleFirst', () => {
  it('reads nothing for a dry run, which lists the runners itself', async () => {
    expect(await findStaleFirst({} as ExecuteDeps, { verb: 'cleanup-stale', olderThanSeconds: 30 * 86400, dryRun: true }, NOW)).toEqual({
      kind: 'plan',
      context: {},
    });
  });

  it('reads the stale runners since the cutoff and names their ids in the approval text', async () => {
    const cutoffs: number[] = [];
    const prepared = await findStaleFirst(
      depsFinding([runner(4), runner(9)], cutoffs),
      { verb: 'cleanup-stale', olderThanSeconds: 30 * 86400, dryRun: false },
      NOW,
    );
    expect(cutoffs).toEqual([NOW - 30 * 86400_000]);
    if (prepared.kind !== 'plan') throw new Error('expected a plan');
    expect(prepared.context.stale?.map((r) => r.id)).toEqual([4, 9]);
    expect(prepared.approvalText?.('cleanup-stale --older-than 30d')).toBe('cleanup-stale --older-than 30d: deletes 2 runners: #4, #9');
  });

  it('lists at most 60 ids in the approval text and counts the rest', async () => {
    const many = Array.from({ length: 62 }, (_, i) => runner(i + 1));
    const prepared = await findStaleFirst(depsFinding(many), { verb: 'cleanup-stale', olderThanSeconds: 30 * 86400, dryRun: false }, NOW);
    if (prepared.kind !== 'plan') throw new Error('expected a plan');
    expect(prepared.approvalText?.('x')).toMatch(/: deletes 62 runners: #1, .*#60 and 2 more \(the dry run lists them all\)$/);
  });

  it('says there is nothing to clean up when no runner is stale', async () => {
    expect(await findStaleFirst(depsFinding([]), { verb: 'cleanup-stale', olderThanSeconds: 30 * 86400, dryRun: false }, NOW)).toEqual({
      kind: 'nothing to do',
      text: 'no runner has been without contact since 2026-05-02: nothing to clean up',
      outcome: 'nothing to clean up',
    });
  });

  it('refuses when the bot has no GitLab access', async () => {
    await expect(findStaleFirst({} as ExecuteDeps, { verb: 'cleanup-stale', olderThanSeconds: 30 * 86400, dryRun: false }, NOW)).rejects.toThrow(
      'the bot has no GitLab access',
    );
  });
});
