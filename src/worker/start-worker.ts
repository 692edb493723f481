import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { findHostJob } from '../../jobs/index.js';
import * as hostFacts from '../../jobs/host-facts.js';
import type { WorkerSettings } from '../config.js';
import type { Logger } from '../logger.js';
import { createRedis } from '../queue/redis.js';
import { hostQueueName } from '../queue/names.js';
import { touchHost, type HostEntry } from '../queue/host-registry.js';
import type { JobData } from '../queue/enqueue.js';
import type { HostKeys } from '../secrets/host-keys.js';
import { publishNotice } from '../queue/notices.js';
import { detectVersions } from '../clients/detect-versions.js';
import { createProcessor, reportStalledFailure, type Refusal } from './dispatch.js';
import { createExclusiveLocks } from './exclusive.js';
import { startHeartbeat } from './heartbeat.js';
import { gcWithJob, pruneWithJob, startDiskPressureWatch } from './disk-pressure-watch.js';
import { IMAGE_USE_FILE, startImageUseLog, type ImageUseLog } from '../clients/docker/image-use-log.js';
import type { JobContext } from '../../jobs/job-context.js';
import { JOB_LOCK, type JobLockOptions } from '../queue/job-lock.js';
import { createFileReplayGuard } from './replay-guard.js';

export interface RunningWorker {
  /** Finishes the running jobs (up to `graceMs`, then hands them back to the queue) and leaves the registry. */
  stop: (graceMs?: number) => Promise<void>;
  worker: Worker<JobData>;
  /** Jobs refused before they ran, by reason kind (for /metrics). */
  refusals: Map<string, number>;
  /** Publishes this host's facts now (runners, disk, versions); resolves when they are in the registry. */
  refreshFacts: () => Promise<void>;
}

export interface WorkerDeps {
  settings: WorkerSettings;
  log: Logger;
  /** This host's key pairs (loadHostKeys): sign what it reports, open sealed tokens. */
  keys: HostKeys;
  /** Defaults to a client for DOCKER_HOST / the local socket. */
  docker?: Docker;
  /** Extra fields for the job context, built by the caller. */
  extraContext?: Record<string, unknown>;
  /** Jobs processed at once; jobs of one exclusive group still run one at a time. @defaultValue 4 */
  concurrency?: number;
  /** How often host facts (runners, token expiry, disk) are refreshed in the registry. @defaultValue 300 */
  factsSeconds?: number;
  /** BullMQ lock and stalled-job check (tests shorten them). @defaultValue JOB_LOCK */
  lock?: Partial<JobLockOptions>;
  /** How long the start waits for Docker's event stream (tests shorten it). @defaultValue 10000 */
  dockerEventsWaitMs?: number;
}

/**
 * The image-use log, unless Docker does not open its event stream in time: a wedged engine must not
 * keep the worker from its queue. A stream that opens late is closed again.
 */
async function followImageUse(start: () => Promise<ImageUseLog>, waitMs: number, log: Logger): Promise<ImageUseLog | undefined> {
  const following = start();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), waitMs);
  });
  try {
    const first = await Promise.race([following, late]);
    if (first !== 'late') return first;
    log.warn({ waitMs }, 'Docker did not open its event stream in time; LRU eviction ranks images by creation time');
    following
      .then(
        (stream) => stream.stop(),
        () => undefined,
      )
      .catch(() => undefined);
    return undefined;
  } catch (err) {
    log.warn({ err }, 'cannot follow Docker events; LRU eviction ranks images by creation time');
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

export function dockerFromSettings(settings: Pick<WorkerSettings, 'dockerHost'>): Docker {
  const host = settings.dockerHost;
  if (!host) return new Docker();
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375) });
}

/** A refusal's reason without ids, as a bounded metric label. */
function refusalKind(reason: string): string {
  const match =
    /^(unsigned|replayed|job expired|job issued in the future|job signed for (queue|host)|job signed as|job signed by unknown key|job with a bad signature|a \S+ signature presented|rotate-token without)/.exec(
      reason,
    );
  return (match?.[1] ?? 'other').replace(/\s+/g, '-');
}

/**
 * `runnerops worker`: heartbeat into the host registry and consume this host's queue, running only
 * jobs the bot signed. Facts are published before the first job is taken, every few minutes, and
 * whenever config.toml changes.
 */
export async function startWorker(deps: WorkerDeps): Promise<RunningWorker> {
  const { settings, log, keys } = deps;
  const docker = deps.docker ?? dockerFromSettings(settings);
  // One connection for this host's own keys and BullMQ's commands (BullMQ adds one of its own for
  // BZPOPMIN): every Redis connection costs about 16 KB in Redis, a fleet's largest cost per idle host.
  // Its commands wait for Redis to come back rather than fail after ~10 s, as BullMQ's must.
  const redis: Redis = createRedis(settings, { blocking: true });
  const signer = keys.signer;
  const patchHost = (patch: Partial<HostEntry>) => touchHost(redis, settings.prefix, signer, settings.host, patch);
  // When each image was last used, for LRU eviction by prune and the disk-pressure watch; without it they rank by creation time.
  const imageUse = await followImageUse(
    () => startImageUseLog({ docker, file: path.join(settings.stateDir, IMAGE_USE_FILE), log: log.child({ part: 'image-use' }) }),
    deps.dockerEventsWaitMs ?? 10_000,
    log,
  );
  const base: Omit<JobContext, 'log' | 'progress'> = {
    host: settings.host,
    docker,
    settings,
    redis,
    prefix: settings.prefix,
    keys,
    patchHost,
    ...(imageUse ? { imageUse } : {}),
    ...deps.extraContext,
  };
  // One lock table per host: queued prunes and the disk-pressure watch never prune at the same time.
  const runExclusive = createExclusiveLocks();
  const refusals = new Map<string, number>();
  const onRefused = async (refusal: Refusal) => {
    const kind = refusalKind(refusal.reason);
    refusals.set(kind, (refusals.get(kind) ?? 0) + 1);
    await publishNotice(redis, settings.prefix, signer, {
      source: 'job-guard',
      host: settings.host,
      at: Date.now(),
      outcome: 'refused',
      summary: `${settings.host} refused a ${refusal.job} job (${refusal.reason}); it did not run. Something other than the bot wrote to its queue: check who holds its Redis credential`,
    });
  };
  const queue = hostQueueName(settings.host);
  const dispatch = { redis, prefix: settings.prefix, signer, ring: settings.botKeys, queue, host: settings.host };
  const processor = createProcessor({
    ...dispatch,
    log,
    replay: await createFileReplayGuard(path.join(settings.stateDir, 'envelopes-done.json')),
    onRefused,
    findJob: findHostJob,
    contextFor: (_envelope, extra) => ({ ...base, ...extra }),
    runExclusive,
    patchHost,
  });
  const heartbeat = await startHeartbeat(
    redis,
    settings.prefix,
    signer,
    {
      name: settings.host,
      versions: await detectVersions(docker),
      labels: settings.labels,
      publicKey: keys.publicKey,
      startedAt: Date.now(),
      lastHeartbeat: Date.now(),
      heartbeatSeconds: settings.heartbeatSeconds,
    },
    log,
  );
  // Runners, token expiry and disk in the registry before the first command, then every few minutes
  // and when config.toml changes, under the runner-config lock so they never overlap a token write.
  const refreshFacts = async () => {
    await runExclusive(hostFacts.exclusive, () => hostFacts.run({}, base));
  };
  const refreshQuietly = () => refreshFacts().catch((err: unknown) => log.warn({ err }, 'could not refresh host facts'));
  await refreshQuietly();
  const factsTimer = setInterval(() => void refreshQuietly(), (deps.factsSeconds ?? 300) * 1000);
  factsTimer.unref();
  const configWatcher = watchConfig(settings.runnerConfigPath, () => void refreshQuietly(), log);

  const worker = new Worker<JobData>(queue, processor, {
    connection: redis,
    prefix: settings.prefix,
    concurrency: deps.concurrency ?? 4,
    ...JOB_LOCK,
    ...deps.lock,
    autorun: true,
  });
  worker.on('error', (err) => log.error({ err }, 'queue error'));
  // Closing a Worker that is still connecting leaves a rejected command nobody handles.
  await worker.waitUntilReady();
  worker.on('failed', (job, err) => {
    reportStalledFailure(dispatch, job, err).catch((e: unknown) => log.warn({ err: e }, 'could not report a stalled job'));
  });
  const watch = startDiskPressureWatch({
    settings,
    docker,
    redis,
    prefix: settings.prefix,
    signer,
    botKeys: settings.botKeys,
    log: log.child({ part: 'disk-pressure-watch' }),
    prune: pruneWithJob({ host: settings.host, docker, settings, log, ...(imageUse ? { imageUse } : {}) }),
    gc: gcWithJob({ host: settings.host, docker, settings, log }),
    evictLru: imageUse !== undefined,
    runExclusive,
  });
  log.info({ host: settings.host, queue, fingerprint: keys.hostFingerprint }, 'worker started');
  return {
    worker,
    refusals,
    refreshFacts,
    stop: async (graceMs = 30_000) => {
      clearInterval(factsTimer);
      configWatcher?.close();
      await watch.stop();
      await imageUse?.stop();
      const graceful = worker.close();
      const timedOut = await Promise.race([graceful.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref())]);
      await heartbeat.stop({ remove: true }).catch(() => undefined);
      if (timedOut) {
        // BullMQ cannot force a close that is already under way: drop the connections instead. The
        // running jobs' locks lapse and BullMQ's stalled-job check hands them to the next worker.
        log.warn('running jobs did not finish in time; handing them back to the queue');
        redis.disconnect();
        return;
      }
      await redis.quit().catch(() => undefined);
      log.info('worker stopped');
    },
  };
}

/** Calls `onChange` when config.toml is written or replaced (its directory is watched: renames replace the file). */
function watchConfig(file: string, onChange: () => void, log: Logger): FSWatcher | undefined {
  let timer: NodeJS.Timeout | undefined;
  try {
    const watcher = watch(path.dirname(file), (_type, name) => {
      if (name !== null && name !== path.basename(file)) return;
      clearTimeout(timer);
      // gitlab-runner writes in place: let the write finish before reading.
      timer = setTimeout(onChange, 200);
      timer.unref();
    });
    watcher.on('error', (err) => log.warn({ err }, 'stopped watching config.toml for changes'));
    watcher.unref();
    return watcher;
  } catch (err) {
    log.warn({ err, file }, 'cannot watch config.toml for changes; facts refresh every few minutes only');
    return undefined;
  }
}
