import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PermanentJobError, UserError } from '../../../src/errors.js';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { createLogger } from '../../../src/logger.js';
import type { JobProgress } from '../../../src/worker/job-context.js';
import type { Result as RestartResult } from '../../../jobs/restart-nix-daemon.js';
import { payloadSchema, run, summarize, type Context } from '../../../jobs/control/restart-drained.js';
import { startFakeGitlab, type FakeGitlab } from '../../fakes/gitlab/start-fake-gitlab.js';

let fake: FakeGitlab;

const restartResult: RestartResult = { host: 'ci-3', container: 'gitlabnix', nixVersion: '2.8.0', healthCheck: 'nix store ping --store daemon', restartMs: 120, healthyMs: 300, checks: 2 };

interface Harness {
  ctx: Context;
  phases: JobProgress[];
  /** Each restart the job asked for, with the runners' paused state and running jobs at that moment. */
  restarts: Array<{ host: string; job: string; payload: unknown; paused: boolean[]; running: number }>;
}

function harness(runnerIds: number[], restart: () => Promise<unknown> = async () => restartResult): Harness {
  const { token } = fake.createUserToken({ scopes: ['manage_runner'], admin: true });
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
        restarts.push({
          host,
          job,
          payload,
          paused: runnerIds.map((id) => fake.runner(id)!.paused),
          running: runnerIds.reduce((n, id) => n + fake.runner(id)!.jobs.filter((j) => j.status === 'running').length, 0),
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
    // The jobs finish a little after the drain starts.
    setTimeout(() => {
      fake.setRunningJobs(a.id, 0);
      fake.setRunningJobs(b.id, 0);
    }, 150);

    const result = await run(payload({ runnerIds: [a.id, b.id] }), h.ctx);

    expect(h.restarts).toEqual([{ host: 'ci-3', job: 'restart-nix-daemon', payload: { timeoutSeconds: 30 }, paused: [true, true], running: 0 }]);
    expect(fake.runner(a.id)!.paused).toBe(false);
    expect(fake.runner(b.id)!.paused).toBe(false);
    expect(result.pausedRunners).toEqual([a.id, b.id]);
    expect(result.jobsStillRunning).toBe(0);
    expect(result.drainMs).toBeGreaterThanOrEqual(100);
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
    expect(h.restarts[0]!.paused).toEqual([true]);
    expect(fake.runner(a.id)!.paused).toBe(false);
  });

  it('restarts after the timeout with jobs still running, and says so', async () => {
    const a = fake.addRunner();
    fake.setRunningJobs(a.id, 2);
    const h = harness([a.id]);
    const result = await run(payload({ runnerIds: [a.id], timeoutSeconds: 1, pollIntervalMs: 100 }), h.ctx);
    expect(h.restarts[0]!.running).toBe(2);
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
    expect(h.restarts[0]!.paused).toEqual([true]);
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
