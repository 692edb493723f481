import { describe, expect, it } from 'vitest';
import { NOTE_PREFIX, payloadSchema, run, summarize, type Context } from '../../../jobs/control/pause-runners.js';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { PermanentJobError } from '../../../src/errors.js';
import { useFakeGitlab } from '../../helpers/use-fake-gitlab.js';

const gitlab = useFakeGitlab();

const context = (token = gitlab().admin.token): Context => ({
  gitlab: createGitlabClient({ url: gitlab().url, token }),
  gitlabUrl: gitlab().url,
  progress: async () => undefined,
});
const payload = (input: Record<string, unknown>) => payloadSchema.parse({ requestedBy: 'alice', ...input });

describe('run', () => {
  it('pauses runners with the reason in their maintenance note and says a shared runner stops on every host', async () => {
    const a = gitlab().addRunner();
    const b = gitlab().addRunner({ paused: true });
    const result = await run(
      payload({ runnerIds: [a.id, b.id], paused: true, reason: 'disk swap', hostsOf: { [a.id]: ['ci-1', 'ci-2'], [b.id]: ['ci-1'] } }),
      context(),
    );
    expect(gitlab().runner(a.id)).toMatchObject({ paused: true, maintenanceNote: `${NOTE_PREFIX} by alice: disk swap` });
    expect(gitlab().runner(b.id)!.maintenanceNote).toBe(`${NOTE_PREFIX} by alice: disk swap`);
    expect(result).toMatchObject({ changed: [a.id], already: [b.id], reason: 'disk swap' });
    expect(summarize(result)).toBe(`paused #${a.id}; #${b.id} was paused already; reason: disk swap\nrunner #${a.id} is on ci-1, ci-2: paused on all of them`);
  });

  it('resumes runners and clears only a note runnerops wrote', async () => {
    const ours = gitlab().addRunner({ paused: true, maintenanceNote: `${NOTE_PREFIX} by bob` });
    const theirs = gitlab().addRunner({ paused: true, maintenanceNote: 'replacing the disk, ask Carol' });
    const result = await run(payload({ runnerIds: [ours.id, theirs.id], paused: false }), context());
    expect(gitlab().runner(ours.id)).toMatchObject({ paused: false, maintenanceNote: '' });
    expect(gitlab().runner(theirs.id)).toMatchObject({ paused: false, maintenanceNote: 'replacing the disk, ask Carol' });
    expect(summarize(result)).toBe(`resumed #${ours.id}, #${theirs.id}`);
  });

  it('fails in one line for a runner the token may not manage, naming what it already changed', async () => {
    const mine = gitlab().addRunner({ runnerType: 'group_type', groupId: 31 });
    const other = gitlab().addRunner({ runnerType: 'group_type', groupId: 32 });
    const owner = gitlab().createUserToken({ scopes: ['api'], ownedGroups: [31] });
    const error = await run(payload({ runnerIds: [mine.id, other.id], paused: true }), context(owner.token)).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error).toBeInstanceOf(PermanentJobError);
    expect(error!.message).not.toContain('\n');
    expect(error!.message).toContain(`paused already: #${mine.id}`);
    expect(gitlab().runner(mine.id)!.paused).toBe(true);
    expect(gitlab().runner(other.id)!.paused).toBe(false);
  });
});

describe('payloadSchema', () => {
  it('refuses an empty list of runners', () => {
    expect(() => payload({ runnerIds: [], paused: true })).toThrow();
  });
});
