import { Worker } from 'bullmq';
import type { Gitlab } from '@gitbeaker/rest';
import { createGitlabClient } from '../clients/gitlab/create-gitlab-client.js';
import type { Redis } from 'ioredis';
import { findControlJob } from '../../jobs/control/index.js';
import { PermanentJobError } from '../errors.js';
import type { Logger } from '../logger.js';
import { enrolledHost, type BotTrust } from '../queue/bot-trust.js';
import type { JobData } from '../queue/enqueue.js';
import type { EventSigners } from '../queue/events.js';
import { CONTROL_QUEUE } from '../queue/names.js';
import type { QueuePool } from '../queue/queue-pool.js';
import { createProcessor, reportStalledFailure, type Refusal } from '../worker/dispatch.js';
import { createExclusiveLocks } from '../worker/exclusive.js';
import { JOB_LOCK, type JobLockOptions } from '../queue/job-lock.js';
import type { ControlContext } from '../../jobs/job-context.js';
import { createRedisReplayGuard } from '../worker/replay-guard.js';
import { runOnHost } from './run-on-host.js';

export interface ControlWorkerDeps {
  redis: Redis;
  /** Connection for the BullMQ worker (blocking commands). */
  blocking: Redis;
  prefix: string;
  queues: QueuePool;
  log: Logger;
  trust: BotTrust;
  signers: EventSigners;
  /** A control job refused before it ran (audit, security notice). */
  onRefused: (refusal: Refusal) => Promise<void>;
  gitlabUrl: string | undefined;
  gitlabToken: string | undefined;
  /** Tests pass a client for the fake GitLab; otherwise built from the URL and token. */
  gitlab?: InstanceType<typeof Gitlab>;
  /** BullMQ lock and stalled-job check (tests shorten them). @defaultValue JOB_LOCK */
  lock?: Partial<JobLockOptions>;
}

/**
 * The bot's worker for control-plane jobs (GitLab calls with the user token), on the `control` queue.
 * It runs only jobs the bot signed (anyone who can write to Redis can add a job to the queue).
 */
export function startControlWorker(deps: ControlWorkerDeps): Worker<JobData> {
  // Our requester sends each request once: gitbeaker's own would resend a POST (a runner creation) on 502.
  const gitlab =
    deps.gitlab ??
    (deps.gitlabUrl && deps.gitlabToken ? (createGitlabClient({ url: deps.gitlabUrl, token: deps.gitlabToken }) as InstanceType<typeof Gitlab>) : undefined);
  const dispatch = { redis: deps.redis, prefix: deps.prefix, signer: deps.trust.signer, ring: deps.trust.ring, queue: CONTROL_QUEUE, host: undefined };
  const processor = createProcessor({
    ...dispatch,
    log: deps.log,
    replay: createRedisReplayGuard(deps.redis, deps.prefix),
    onRefused: deps.onRefused,
    findJob: findControlJob,
    runExclusive: createExclusiveLocks(),
    contextFor: (envelope, base): ControlContext => {
      if (!gitlab || !deps.gitlabUrl) {
        throw new PermanentJobError(
          'the bot has no GitLab access: set GITLAB_URL and GITLAB_TOKEN (the role and scopes it needs: README, "Runner tokens and GitLab")',
        );
      }
      return {
        ...base,
        redis: deps.redis,
        prefix: deps.prefix,
        gitlab,
        gitlabUrl: deps.gitlabUrl,
        enrolledHost: (name) => enrolledHost(deps.redis, deps.prefix, deps.trust, name),
        runOnHost: async (host, name, payload, options) => {
          const blocking = deps.redis.duplicate();
          try {
            return await runOnHost(
              { redis: deps.redis, prefix: deps.prefix, queues: deps.queues, signer: deps.trust.signer, signers: deps.signers, blocking },
              envelope,
              host,
              name,
              payload,
              options,
            );
          } finally {
            blocking.disconnect();
          }
        },
      };
    },
  });
  const worker = new Worker<JobData>(CONTROL_QUEUE, processor, { connection: deps.blocking, prefix: deps.prefix, concurrency: 8, ...JOB_LOCK, ...deps.lock });
  worker.on('error', (err) => deps.log.error({ err }, 'control queue error'));
  worker.on('failed', (job, err) => {
    reportStalledFailure(dispatch, job, err).catch((e: unknown) => deps.log.warn({ err: e }, 'could not report a stalled job'));
  });
  return worker;
}
