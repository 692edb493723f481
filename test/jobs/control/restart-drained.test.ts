import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PermanentJobError, UserError } from '../../../src/errors.js';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { createLogger } from '../../../src/logger.js';
import type { JobProgress } from '../../../jobs/job-context.js';
import type { Result as RestartResult } from '../../../jobs/restart-nix-daemon.js';
import { payloadSchema, run, summarize, type Context } from '../../../jobs/control/restart-drained.js';
import { startFakeGitlab, type FakeGitlab } from '../../fakes/gitlab/start-fake-gitlab.js';

let fake: FakeGitlab;

const restartResult: RestartResult = {
  host: 'ci-3',
  container: 'gitlabnix',
  nixVersion: '2.8.0',
  healthCheck: 'nix store ping --store daemon',
  restartMs: 120,
  healthyMs: 300,
  checks: 2,
};

interface Harness {
  ctx: Context;
  phases: JobProgress[];
  /** Each restart the job asked for, with the runners' paused state and running jobs at that moment. */
  restarts: Array<{ host: string; job: string; payload: unknown; paused: boolean[]; running: number }>;
}

interface HarnessOptions {
  /** What the host's read-system-id job answers. @defaultValue null (no system id yet) */
  systemId?: string | null;
  /** The GITLAB_TOKEN the drain calls GitLab with. @defaultValue an admin's manage_runner token */
  token?: string;
}

function harness(runnerIds: number[], restart: () => Promise<unknown> = async () => restartResult, options: HarnessOptions = {}): Harness {
  const token = options.token ?? fake.createUserToken({ scopes: ['manage_runner'], admin: true }).token;
  const phases: JobProgress[] = [];
  const restarts: Harness['restarts'] = [];
  return {
    phases,
    restarts,
    ctx: {
      gitlab: createGitlabClient({ url: fake.url, token }),
      gitlabUrl: fake.url,
      log: createLogger({ name: 'test', level: 'silent' }),
      progress: async (p) => void phases.push(p),
      runOnHost: async (host, job, payload) => {
        if (job === 'read-system-id') return { host, systemId: options.systemId ?? null };
        restarts.push({
          host,
          job,
          payload,
          paused: runnerIds.map((id) => fake.runner(id)!.paused),
          running: runnerIds.reduce((n, id) => n + fake.runner(id)!.jobs.filter((j) => j.status === 'running' || j.status === 'canceling').length, 0),
        });
        return restart();
      },
    },
  };
}

const payload = (input: Partial<ReturnType<typeof payloadSchema.parse>> & { runnerIds: number[] }) =>
  payloadSchema.parse({ host: 'ci-3', timeoutSeconds: 30, pollIntervalMs: 20, ...input });

beforeEach(async () => {
  fake = await startFakeGitlab();
});

afterEach(async () => {
  await fake.close();
});

describe('run', () => {
  it('pauses the runners, waits for their running jobs, restarts, then unpauses them', async () => {
    const [a, b] = [fake.addRunner(), fake.addRunner()];
    fake.setRunningJobs(a.id, 2);
    fake.setRunningJobs(b.id, 1);
    const h = harness([a.id, b.id]);
    // The jobs finish once the drain has seen them running.
    h.ctx.progress = async (p) => {
      h.phases.push(p);
      if (p.phase === 'waiting for running jobs') {
        fake.setRunningJobs(a.id, 0);
        fake.setRunningJobs(b.id, 0);
      }
    };

    const result = await run(payload({ runnerIds: [a.id, b.id] }), h.ctx);

    expect(h.restarts).toEqual([{ host: 'ci-3', job: 'restart-nix-daemon', payload: { timeoutSeconds: 30 }, paused: [true, true], running: 0 }]);
    expect(fake.runner(a.id)!.paused).toBe(false);
    expect(fake.runner(b.id)!.paused).toBe(false);
    expect(result.pausedRunners).toEqual([a.id, b.id]);
    expect(result.jobsStillRunning).toBe(0);
    const phases = h.phases.map((p) => p.phase);
    expect(phases[0]).toBe('pausing runners');
    expect(phases).toContain('waiting for running jobs');
    expect(phases.slice(-2)).toEqual(['restarting', 'unpausing runners']);
    expect(summarize(result)).toMatch(/^paused runners #\d+, #\d+, drained in .*restarted gitlabnix.*runners unpaused$/);
  });

  it('unpauses the runners when the restart fails, and passes the failure on', async () => {
    const a = fake.addRunner();
    const h = harness([a.id], async () => {
      throw new PermanentJobError('ci-3: nix-daemon in "gitlabnix" did not answer within 30s after the restart');
    });
    await expect(run(payload({ runnerIds: [a.id] }), h.ctx)).rejects.toThrow(/did not answer within 30s/);
    expect(h.restarts[0]?.paused).toEqual([true]);
    expect(fake.runner(a.id)!.paused).toBe(false);
  });

  it('restarts after the timeout with jobs still running, and says so', async () => {
    const a = fake.addRunner();
    fake.setRunningJobs(a.id, 2);
    const h = harness([a.id]);
    const result = await run(payload({ runnerIds: [a.id], timeoutSeconds: 1, pollIntervalMs: 100 }), h.ctx);
    expect(h.restarts[0]?.running).toBe(2);
    expect(result.jobsStillRunning).toBe(2);
    expect(fake.runner(a.id)!.paused).toBe(false);
    expect(summarize(result)).toContain('gave up waiting');
  });

  it('leaves a runner that was paused before as it was', async () => {
    const [a, b] = [fake.addRunner({ paused: true }), fake.addRunner()];
    const h = harness([a.id, b.id]);
    const result = await run(payload({ runnerIds: [a.id, b.id] }), h.ctx);
    expect(result.alreadyPaused).toEqual([a.id]);
    expect(result.pausedRunners).toEqual([b.id]);
    expect(fake.runner(a.id)!.paused).toBe(true);
    expect(fake.runner(b.id)!.paused).toBe(false);
  });

  it('rides out GitLab 503s while pausing and unpausing', async () => {
    const a = fake.addRunner();
    fake.inject('PUT /runners/:id', { status: 503, times: 1 });
    const h = harness([a.id]);
    await run(payload({ runnerIds: [a.id] }), h.ctx);
    expect(h.restarts[0]?.paused).toEqual([true]);
    expect(fake.runner(a.id)!.paused).toBe(false);
    expect(fake.requestCount('PUT /runners/:id')).toBe(3);
  });

  it('unpauses a runner that GitLab paused even when the answer to the pause got lost', async () => {
    const a = fake.addRunner();
    fake.inject('PUT /runners/:id', { status: 500, afterHandling: true, times: 4 });
    const h = harness([a.id]);
    await expect(run(payload({ runnerIds: [a.id] }), h.ctx)).rejects.toThrow(/pause runner #\d+ failed/);
    expect(h.restarts).toEqual([]);
    expect(fake.runner(a.id)!.paused).toBe(false);
  });

  it('stops before the restart when GitLab refuses the pause, without touching the runner again', async () => {
    const a = fake.addRunner();
    fake.inject('PUT /runners/:id', { status: 403, body: { message: '403 Forbidden - No access granted' } });
    const h = harness([a.id]);
    await expect(run(payload({ runnerIds: [a.id] }), h.ctx)).rejects.toThrow(/pause runner #\d+ failed: GitLab denied it \(403/);
    expect(h.restarts).toEqual([]);
    expect(fake.runner(a.id)!.paused).toBe(false);
    expect(fake.requestCount('PUT /runners/:id')).toBe(1);
  });

  it('refuses to drain a host with no known runners instead of restarting blind', async () => {
    const h = harness([]);
    await expect(run(payload({ runnerIds: [] }), h.ctx)).rejects.toBeInstanceOf(UserError);
    expect(h.restarts).toEqual([]);
  });
});

describe('run on a host that shares a runner token with other hosts', () => {
  const ours = 's_00000000000a';
  const theirs = 's_00000000000b';

  it("neither pauses the shared runner nor waits for the other host's jobs, and says so", async () => {
    const shared = fake.addRunner();
    fake.state.recordManager(shared, ours);
    fake.state.recordManager(shared, theirs);
    fake.setJobs(shared.id, [{ status: 'running', systemId: theirs }]);
    const h = harness([shared.id], undefined, { systemId: ours });
    const result = await run(payload({ runnerIds: [shared.id], timeoutSeconds: 5 }), h.ctx);
    expect(h.restarts).toEqual([expect.objectContaining({ job: 'restart-nix-daemon', paused: [false] })]);
    expect(fake.requestCount('PUT /runners/:id')).toBe(0);
    expect(result).toMatchObject({ pausedRunners: [], sharedRunners: [shared.id], jobsStillRunning: 0, systemId: ours });
    expect(fake.findRequests('GET /runners/:id/jobs').every((r) => r.url.includes(`system_id=${ours}`))).toBe(true);
    expect(summarize(result)).toContain(`runner #${shared.id} is shared with other hosts: not paused`);
  });

  it("waits for this host's own jobs on a shared runner, canceling ones included", async () => {
    const shared = fake.addRunner();
    fake.state.recordManager(shared, ours);
    fake.state.recordManager(shared, theirs);
    fake.setJobs(shared.id, [
      { status: 'canceling', systemId: ours },
      { status: 'running', systemId: theirs },
    ]);
    const h = harness([shared.id], undefined, { systemId: ours });
    h.ctx.progress = async (p) => {
      h.phases.push(p);
      // The after_script ends once the drain has seen the canceling job.
      if (p.phase === 'waiting for running jobs') fake.setJobs(shared.id, [{ status: 'running', systemId: theirs }]);
    };
    const result = await run(payload({ runnerIds: [shared.id] }), h.ctx);
    expect(h.phases.find((p) => p.phase === 'waiting for running jobs')?.detail).toBe('1 running');
    expect(result.jobsStillRunning).toBe(0);
    expect(h.restarts[0]?.running).toBe(1);
  });
});

describe('run with a GITLAB_TOKEN that cannot see every job', () => {
  it("says it cannot see jobs of projects where the token's user is below Reporter instead of reporting the runner idle", async () => {
    fake.addProject(901);
    fake.addProject(902);
    const maintainer = fake.createUserToken({ scopes: ['manage_runner', 'read_api'], projects: { 901: 'maintainer' } });
    const runner = fake.addRunner({ runnerType: 'project_type', projectId: 901 });
    // A job of another project this runner serves, where the user has no role.
    fake.setJobs(runner.id, [{ status: 'running', projectId: 902 }]);
    const h = harness([runner.id], undefined, { token: maintainer.token });
    const result = await run(payload({ runnerIds: [runner.id] }), h.ctx);
    expect(result.unseenRunners).toEqual([runner.id]);
    expect(summarize(result)).toContain(`cannot see jobs of runner #${runner.id} in projects where the GITLAB_TOKEN user is below Reporter`);
    expect(fake.runner(runner.id)!.paused).toBe(false);
  });

  it('trusts the count for a group runner, whose Owner sees every project of the group', async () => {
    const owner = fake.createUserToken({ scopes: ['manage_runner', 'read_api'], groups: { 950: 'owner' } });
    const runner = fake.addRunner({ runnerType: 'group_type', groupId: 950 });
    const h = harness([runner.id], undefined, { token: owner.token });
    const result = await run(payload({ runnerIds: [runner.id] }), h.ctx);
    expect(result.unseenRunners).toEqual([]);
    expect(summarize(result)).not.toContain('cannot see');
  });
});

describe('run on GitLab 16.x', () => {
  it("drains a group Owner's group runner with an api token, canceling jobs uncounted where GitLab has no such state", async () => {
    await fake.close();
    fake = await startFakeGitlab({ version: '16.11' });
    const owner = fake.createUserToken({ scopes: ['api'], groups: { 960: 'owner' } });
    const runner = fake.addRunner({ runnerType: 'group_type', groupId: 960 });
    fake.setRunningJobs(runner.id, 1);
    const h = harness([runner.id], undefined, { token: owner.token });
    h.ctx.progress = async (p) => {
      h.phases.push(p);
      if (p.phase === 'waiting for running jobs') fake.setRunningJobs(runner.id, 0);
    };
    const result = await run(payload({ runnerIds: [runner.id] }), h.ctx);
    expect(h.restarts[0]?.paused).toEqual([true]);
    expect(result).toMatchObject({ pausedRunners: [runner.id], jobsStillRunning: 0, unseenRunners: [] });
    expect(fake.runner(runner.id)!.paused).toBe(false);
  });
});

describe('run after the bot died mid-drain', () => {
  it('unpauses the runners an earlier run of the same command paused, instead of leaving them paused', async () => {
    const { testRedis, testRedisSettings, deletePrefix } = await import('../../setup/redis.js');
    const { redisUrl, prefix } = testRedisSettings();
    const redis = testRedis(redisUrl);
    try {
      const runner = fake.addRunner();
      const h = harness([runner.id]);
      // The earlier run paused the runner and recorded it, then the bot was killed.
      await redis.sadd(`${prefix}:drain:cmd-1:paused`, String(runner.id));
      fake.runner(runner.id)!.paused = true;
      const result = await run(payload({ runnerIds: [runner.id], requestId: 'cmd-1' }), { ...h.ctx, redis, prefix });
      expect(fake.runner(runner.id)!.paused).toBe(false);
      expect(result.pausedRunners).toEqual([runner.id]);
      expect(result.alreadyPaused).toEqual([]);
      expect(await redis.exists(`${prefix}:drain:cmd-1:paused`)).toBe(0);
    } finally {
      await deletePrefix(redis, prefix);
      await redis.quit();
    }
  });
});
