import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTE_PREFIX, payloadSchema, run, summarize, type Context } from '../../../jobs/control/pause-runners.js';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { PermanentJobError } from '../../../src/errors.js';
import { startFakeGitlab, type FakeGitlab } from '../../fakes/gitlab/start-fake-gitlab.js';

let fake: FakeGitlab;
beforeAll(async () => {
  fake = await startFakeGitlab();
});
afterAll(async () => {
  await fake.close();
});

const context = (token = fake.admin.token): Context => ({
  gitlab: createGitlabClient({ url: fake.url, token }),
  gitlabUrl: fake.url,
  progress: async () => undefined,
});
const payload = (input: Record<string, unknown>) => payloadSchema.parse({ requestedBy: 'alice', ...input });

describe('run', () => {
  it('pauses runners with the reason in their maintenance note and says a shared runner stops on every host', async () => {
    const a = fake.addRunner();
    const b = fake.addRunner({ paused: true });
    const result = await run(
      payload({ runnerIds: [a.id, b.id], paused: true, reason: 'disk swap', hostsOf: { [a.id]: ['ci-1', 'ci-2'], [b.id]: ['ci-1'] } }),
      context(),
    );
    expect(fake.runner(a.id)).toMatchObject({ paused: true, maintenanceNote: `${NOTE_PREFIX} by alice: disk swap` });
    expect(fake.runner(b.id)!.maintenanceNote).toBe(`${NOTE_PREFIX} by alice: disk swap`);
    expect(result).toMatchObject({ changed: [a.id], already: [b.id], reason: 'disk swap' });
    expect(summarize(result)).toBe(`paused #${a.id}; #${b.id} was paused already; reason: disk swap\nrunner #${a.id} is on ci-1, ci-2: paused on all of them`);
  });

  it('resumes runners and clears only a note runnerops wrote', async () => {
    const ours = fake.addRunner({ paused: true, maintenanceNote: `${NOTE_PREFIX} by bob` });
    const theirs = fake.addRunner({ paused: true, maintenanceNote: 'replacing the disk, ask Carol' });
    const result = await run(payload({ runnerIds: [ours.id, theirs.id], paused: false }), context());
    expect(fake.runner(ours.id)).toMatchObject({ paused: false, maintenanceNote: '' });
    expect(fake.runner(theirs.id)).toMatchObject({ paused: false, maintenanceNote: 'replacing the disk, ask Carol' });
    expect(summarize(result)).toBe(`resumed #${ours.id}, #${theirs.id}`);
  });

  it('fails in one line for a runner the token may not manage, naming what it already changed', async () => {
    const mine = fake.addRunner({ runnerType: 'group_type', groupId: 31 });
    const other = fake.addRunner({ runnerType: 'group_type', groupId: 32 });
    const owner = fake.createUserToken({ scopes: ['api'], ownedGroups: [31] });
    const error = await run(payload({ runnerIds: [mine.id, other.id], paused: true }), context(owner.token)).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error).toBeInstanceOf(PermanentJobError);
    expect(error!.message).not.toContain('\n');
    expect(error!.message).toContain(`paused already: #${mine.id}`);
    expect(fake.runner(mine.id)!.paused).toBe(true);
    expect(fake.runner(other.id)!.paused).toBe(false);
  });
});

describe('payloadSchema', () => {
  it('refuses an empty list of runners', () => {
    expect(() => payload({ runnerIds: [], paused: true })).toThrow();
  });
});
