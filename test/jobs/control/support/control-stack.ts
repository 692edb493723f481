import { Job, QueueEvents, Worker } from 'bullmq';
import { afterAll, beforeAll } from 'vitest';
import { findHostJob } from '../../../../jobs/index.js';
import { createGitlabClient, type GitlabApi } from '../../../../src/clients/gitlab/create-gitlab-client.js';
import type { Logger } from '../../../../src/logger.js';
import { enqueueStep } from '../../../../src/queue/enqueue.js';
import { hostQueueName } from '../../../../src/queue/names.js';
import { createQueuePool, type QueuePool } from '../../../../src/queue/queue-pool.js';
import { createRedis } from '../../../../src/queue/redis.js';
import { createProcessor } from '../../../../src/worker/dispatch.js';
import { createExclusiveLocks } from '../../../../src/worker/exclusive.js';
import type { ControlContext, JobProgress } from '../../../../jobs/job-context.js';
import { enrolledHost } from '../../../../src/queue/bot-trust.js';
import { ringOf } from '../../../../src/queue/signing-keys.js';
import { TEST_BOT_KEYS, testBotSigner, testTrust } from '../../../helpers/test-trust.js';
import { captureLogs, dumpRedis, joinAll, type RunnerJobEnvironment, type TestHost } from '../../support/runner-host.js';

export type TokenMode = 'config-toml' | 'nixos-module' | 'env-template';

/** A host worker on its real queue and the control context the bot would hand a control job. */
export interface ControlStack {
  host: TestHost;
  ctx: Pick<ControlContext, 'gitlab' | 'gitlabUrl' | 'redis' | 'prefix' | 'runOnHost' | 'enrolledHost' | 'log' | 'progress'> & {
    gitlab: GitlabApi;
    pickupIntervalMs?: number;
  };
  controlLogs: string[];
  controlPhases: JobProgress[];
  log: Logger;
}

/**
 * Registers a queue pool for the file (beforeAll / afterAll) and returns `startStack`: a host on disk
 * whose worker runs the project's dispatch on a real BullMQ queue, announced in the registry, and a
 * control context whose runOnHost queues the host job as a step and waits for it, as the bot does.
 */
export function useControlStacks(env: RunnerJobEnvironment) {
  let queues: QueuePool;
  let hostCount = 0;
  beforeAll(() => {
    queues = createQueuePool(env.redis, env.redisSettings.prefix);
  });
  afterAll(async () => {
    await queues.close();
  });

  /**
   * @param options.approvedBy the people whose approval the command carries (host jobs such as
   *   rotate-token run only with one in their envelope); none by default.
   */
  async function startStack(mode: TokenMode, options: { publishKey?: boolean; approvedBy?: string[] } = {}): Promise<ControlStack> {
    const { prefix } = env.redisSettings;
    const name = `ci-${++hostCount}`;
    const host = await env.createHost({ mode, host: name });
    await env.publishHost(host, { withKey: options.publishKey !== false });
    const workerConnection = createRedis(env.redisSettings, { blocking: true });
    const eventsConnection = createRedis(env.redisSettings, { blocking: true });
    const processor = createProcessor({
      redis: env.redis,
      prefix,
      log: host.log,
      queue: hostQueueName(name),
      host: name,
      ring: ringOf(TEST_BOT_KEYS),
      signer: host.keys.signer,
      replay: { begin: async () => undefined, finish: async () => undefined },
      onRefused: async () => undefined,
      findJob: findHostJob,
      contextFor: (_envelope, extra) => ({
        host: name,
        settings: host.settings,
        redis: env.redis,
        prefix,
        keys: host.keys,
        patchHost: host.patchHost,
        ...extra,
      }),
      runExclusive: createExclusiveLocks(),
    });
    const worker = new Worker(hostQueueName(name), processor, { connection: workerConnection, prefix });
    const events = new QueueEvents(hostQueueName(name), { connection: eventsConnection, prefix });
    await events.waitUntilReady();
    env.afterThisTest(async () => {
      await worker.close();
      await events.close();
      await Promise.all([workerConnection.quit(), eventsConnection.quit()]);
    });
    const admin = env.fake.createUserToken({ scopes: ['create_runner', 'manage_runner', 'read_api'], admin: true });
    const { log, lines } = captureLogs();
    const controlPhases: JobProgress[] = [];
    const commandId = `cmd${hostCount}`;
    return {
      host,
      log,
      controlLogs: lines,
      controlPhases,
      ctx: {
        gitlab: createGitlabClient({ url: env.fake.url, token: admin.token }),
        gitlabUrl: env.fake.url,
        redis: env.redis,
        prefix,
        log,
        progress: async (p) => void controlPhases.push(p),
        enrolledHost: (hostName) => enrolledHost(env.redis, prefix, testTrust(), hostName),
        runOnHost: async (target, job, payload) => {
          const approval = options.approvedBy ? { approval: { id: `approval-${commandId}`, requestHash: '0'.repeat(64), approvedBy: options.approvedBy } } : {};
          const parent = { commandId, requester: { via: 'cli' as const, user: 'cli:test' }, ...approval };
          const { jobId } = await enqueueStep({ redis: env.redis, prefix, queues, signer: testBotSigner }, parent, target, job, payload, 60_000);
          const queued = await Job.fromId(queues.get(hostQueueName(target)), jobId);
          return queued!.waitUntilFinished(events, 30_000);
        },
      },
    };
  }

  /** Everything the stack wrote: Redis under the prefix, the host's and the control side's logs and phases. */
  async function producedText(stack: ControlStack, ...extra: unknown[]): Promise<string> {
    return joinAll(
      await dumpRedis(env.redis, env.redisSettings.prefix),
      stack.host.logLines.join(''),
      stack.controlLogs.join(''),
      stack.controlPhases,
      ...extra,
    );
  }

  return { startStack, producedText, hostCount: () => hostCount };
}

/** The error a job run failed with (fails the test when it succeeded). */
export async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the job to fail');
}
