import { describe, expect, it } from 'vitest';
import { payloadSchema, run, summarize, type Context } from '../../../jobs/control/cleanup-stale-runners.js';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { useFakeGitlab } from '../../helpers/use-fake-gitlab.js';

const gitlab = useFakeGitlab();

const DAY = 86400_000;
const context = (token = gitlab().admin.token): Context => ({
  gitlab: createGitlabClient({ url: gitlab().url, token }),
  gitlabUrl: gitlab().url,
  progress: async () => undefined,
});
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

describe('run', () => {
  it('deletes exactly what its dry run listed, and nothing that turned stale after the list was frozen', async () => {
    const oldRunner = (i: number) => {
      const r = gitlab().addRunner({ description: `old-${i}` });
      r.contactedAt = ago((100 + i) * DAY);
      return r;
    };
    const old = [oldRunner(0), oldRunner(1), oldRunner(2)] as const;
    const never = gitlab().addRunner({ description: 'never contacted' });
    never.createdAt = ago(200 * DAY);
    const recentStale = gitlab().addRunner({ description: 'stale, but only 10 days' });
    recentStale.contactedAt = ago(10 * DAY);
    const online = gitlab().addRunner({ description: 'online' });
    online.contactedAt = ago(60_000);
    const cutoff = Date.now() - 90 * DAY;

    const dry = await run(payloadSchema.parse({ cutoff, dryRun: true }), context());
    expect(dry.deleted.map((r) => r.id)).toEqual([...old.map((r) => r.id), never.id]);
    expect(gitlab().runners().length).toBeGreaterThanOrEqual(6);

    // After the approval froze the list: one more runner goes stale, one on the list comes back.
    const later = gitlab().addRunner({ description: 'stale after the approval' });
    later.contactedAt = ago(120 * DAY);
    gitlab().runner(old[1].id)!.contactedAt = ago(1000);

    const real = await run(payloadSchema.parse({ cutoff, dryRun: false, runners: dry.deleted }), context());
    expect(real.deleted.map((r) => r.id)).toEqual([old[0].id, old[2].id, never.id]);
    expect(real.kept).toEqual([old[1].id]);
    for (const r of [old[0], old[2], never]) expect(gitlab().runner(r.id)).toBeUndefined();
    for (const r of [old[1], recentStale, online, later]) expect(gitlab().runner(r.id)).toBeDefined();
    expect(summarize(real).split('\n')[0]).toMatch(/^deleted 3 runners without contact since \d{4}-\d\d-\d\d; kept #\d+: contacted GitLab since the approval$/);
    expect(summarize(dry)).toContain('(dry run: nothing deleted)');
    expect(summarize(dry)).toContain(`#${never.id} instance "never contacted": never contacted, created`);

    const again = await run(payloadSchema.parse({ cutoff, dryRun: false, runners: dry.deleted }), context());
    expect(again.deleted).toEqual([]);
    expect(again.gone).toEqual([old[0].id, old[2].id, never.id]);
  });
});

describe('payloadSchema', () => {
  it('refuses a real cleanup without the approved list', () => {
    expect(() => payloadSchema.parse({ cutoff: Date.now(), dryRun: false })).toThrow(/approved list/);
  });
});
