import Docker from 'dockerode';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { findHostJob } from '../../jobs/index.js';
import type { WorkerSettings } from '../config.js';
import type { Logger } from '../logger.js';
import { createRedis } from '../queue/redis.js';
import { hostQueueName } from '../queue/names.js';
import { touchHost } from '../queue/host-registry.js';
import type { JobData } from '../queue/enqueue.js';
import { detectVersions } from './detect-versions.js';
import { createProcessor, reportStalledFailure } from './dispatch.js';
import { createExclusiveLocks } from './exclusive.js';
import { startHeartbeat } from './heartbeat.js';
import { pruneWithJob, startDiskPressureWatch } from './disk-pressure-watch.js';
import type { JobContext } from './job-context.js';

export interface RunningWorker {
  /** Finishes the running jobs (up to `graceMs`, then hands them back to the queue) and leaves the registry. */
  stop: (graceMs?: number) => Promise<void>;
  worker: Worker<JobData>;
}

export interface WorkerDeps {
  settings: WorkerSettings;
  log: Logger;
  /** Defaults to a client for DOCKER_HOST / the local socket. */
  docker?: Docker;
  /** Extra fields for the job context (host keys and the like), built by the caller. */
  extraContext?: Record<string, unknown>;
  /** Jobs processed at once; jobs of one exclusive group still run one at a time. @defaultValue 4 */
  concurrency?: number;
  /** How often host-facts refreshes runners, token expiry and disk in the registry. @defaultValue 300 */
  factsSeconds?: number;
}

export function dockerFromSettings(settings: Pick<WorkerSettings, 'dockerHost'>): Docker {
  const host = settings.dockerHost;
  if (!host) return new Docker();
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375) });
}

/** `runnerops worker`: heartbeat into the host registry and consume this host's queue. */
export async function startWorker(deps: WorkerDeps): Promise<RunningWorker> {
  const { settings, log } = deps;
  const docker = deps.docker ?? dockerFromSettings(settings);
  const redis: Redis = createRedis(settings);
  const blocking: Redis = createRedis(settings, { blocking: true });
  const base: Omit<JobContext, 'log' | 'progress'> = {
    host: settings.host,
    docker,
    settings,
    redis,
    prefix: settings.prefix,
    ...deps.extraContext,
  };
  // One lock table per host: queued prunes and the disk-pressure watch never prune at the same time.
  const runExclusive = createExclusiveLocks();
  const processor = createProcessor({
    redis,
    prefix: settings.prefix,
    log,
    hostOf: () => settings.host,
    findJob: findHostJob,
    contextFor: (_job, extra) => ({ ...base, ...extra }),
    runExclusive,
    patchHost: (patch) => touchHost(redis, settings.prefix, settings.host, patch),
  });
  const worker = new Worker<JobData>(hostQueueName(settings.host), processor, {
    connection: blocking,
    prefix: settings.prefix,
    concurrency: deps.concurrency ?? 4,
    autorun: true,
  });
  worker.on('error', (err) => log.error({ err }, 'queue error'));
  // Closing a Worker that is still connecting leaves a rejected command nobody handles.
  await worker.waitUntilReady();
  worker.on('failed', (job, err) => {
    reportStalledFailure({ redis, prefix: settings.prefix, hostOf: () => settings.host }, job, err).catch((e: unknown) => log.warn({ err: e }, 'could not report a stalled job'));
  });
  // Runners, token expiry and disk in the registry stay fresh without anyone asking: host-facts now
  // and every few minutes, through this host's own queue (so it never overlaps a runner-config write).
  const ownQueue = new Queue<JobData>(hostQueueName(settings.host), { connection: redis, prefix: settings.prefix });
  await ownQueue.upsertJobScheduler(
    'host-facts',
    { every: (deps.factsSeconds ?? 300) * 1000 },
    { name: 'host-facts', data: { commandId: `facts-${settings.host}`, payload: {} }, opts: { removeOnComplete: 10, removeOnFail: 10 } },
  );
  const heartbeat = await startHeartbeat(
    redis,
    settings.prefix,
    {
      name: settings.host,
      versions: await detectVersions(docker),
      labels: settings.labels,
      publicKey: (deps.extraContext?.publicKey as string | undefined) ?? null,
      startedAt: Date.now(),
      lastHeartbeat: Date.now(),
      heartbeatSeconds: settings.heartbeatSeconds,
    },
    log,
  );
  const watch = startDiskPressureWatch({
    settings,
    docker,
    redis,
    prefix: settings.prefix,
    log: log.child({ part: 'disk-pressure-watch' }),
    prune: pruneWithJob({ host: settings.host, docker, settings, log }),
    runExclusive,
  });
  log.info({ host: settings.host, queue: hostQueueName(settings.host) }, 'worker started');
  return {
    worker,
    stop: async (graceMs = 30_000) => {
      await watch.stop();
      const graceful = worker.close();
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref()),
      ]);
      await heartbeat.stop({ remove: true }).catch(() => undefined);
      await ownQueue.close().catch(() => undefined);
      if (timedOut) {
        // BullMQ cannot force a close that is already under way: drop the connections instead. The
        // running jobs' locks lapse and BullMQ's stalled-job check hands them to the next worker.
        log.warn('running jobs did not finish in time; handing them back to the queue');
        blocking.disconnect();
        redis.disconnect();
        return;
      }
      await Promise.all([redis.quit(), blocking.quit()]).catch(() => undefined);
      log.info('worker stopped');
    },
  };
}
