import type Docker from 'dockerode';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BotSettings, WorkerSettings } from '../config.js';
import type { Logger } from '../logger.js';
import { hostQueueName } from '../queue/names.js';
import { createQueuePool } from '../queue/queue-pool.js';
import { createRedis } from '../queue/redis.js';
import { createMetrics, type Metrics } from './create-metrics.js';
import { botHealthChecks, workerHealthChecks, type DockerPing, type HealthCheck } from './health-checks.js';
import { listKnownQueues, readHeartbeatAges, readQueueDepths, recordJobMetrics } from './metric-sources.js';
import { startOpsServer, type OpsServer } from './start-ops-server.js';

/** A process's metrics and, when a port is configured, the server of /healthz and /metrics. */
export interface ProcessOps {
  /** Count API errors here (`metrics.countApiError`); job outcomes are recorded from the worker given. */
  metrics: Metrics;
  /** Undefined when RUNNEROPS_METRICS_PORT is 0. */
  server?: OpsServer;
  /** Closes the server and the Redis connection this opened. */
  stop: () => Promise<void>;
}

interface CommonOpsDeps {
  log: Logger;
  /** Redis for checks and gauges. @defaultValue a new connection from `settings.redisUrl`, closed by stop() */
  redis?: Redis;
  /** Where to listen instead of `settings.metricsPort` on all addresses (tests: `{ port: 0, host: '127.0.0.1' }`). */
  listen?: { port: number; host?: string };
}

async function startOps(
  deps: CommonOpsDeps & { metricsPort: number; redisUrl: string },
  build: (redis: Redis) => { metrics: Metrics; checks: HealthCheck[]; close: () => Promise<void> },
): Promise<ProcessOps> {
  const ownRedis = deps.redis ? undefined : createRedis({ redisUrl: deps.redisUrl });
  const redis = deps.redis ?? (ownRedis as Redis);
  const { metrics, checks, close } = build(redis);
  const listen = deps.listen ?? (deps.metricsPort > 0 ? { port: deps.metricsPort } : undefined);
  const server = listen
    ? await startOpsServer({ port: listen.port, ...(listen.host ? { host: listen.host } : {}), checks, registry: metrics.registry, log: deps.log })
    : undefined;
  return {
    metrics,
    ...(server ? { server } : {}),
    stop: async () => {
      await server?.close();
      await close();
      await ownRedis?.quit().catch(() => undefined);
    },
  };
}

/**
 * `runnerops worker`'s operability: /healthz checks Redis, this host's heartbeat and Docker;
 * /metrics has this host's queue depth, its job durations and outcomes, and process metrics.
 */
export function startWorkerOps(
  deps: CommonOpsDeps & {
    settings: Pick<WorkerSettings, 'metricsPort' | 'redisUrl' | 'prefix' | 'host'>;
    docker: DockerPing | Docker;
    /** The worker consuming this host's queue; its finished attempts are recorded. */
    worker?: Pick<Worker, 'on'>;
    /** Jobs refused before they ran, by kind. */
    refusals?: ReadonlyMap<string, number>;
  },
): Promise<ProcessOps> {
  const { settings } = deps;
  return startOps({ ...deps, metricsPort: settings.metricsPort, redisUrl: settings.redisUrl }, (redis) => {
    const pool = createQueuePool(redis, settings.prefix);
    const metrics = createMetrics({
      defaultLabels: { process: 'worker', host: settings.host },
      sources: { queueDepths: readQueueDepths(pool, [hostQueueName(settings.host)]), ...(deps.refusals ? { refusals: deps.refusals } : {}) },
      onSourceError: (source, err) => deps.log.warn({ err, source }, 'metrics source failed'),
    });
    if (deps.worker) recordJobMetrics(deps.worker, metrics);
    return { metrics, checks: workerHealthChecks({ redis, prefix: settings.prefix, host: settings.host, docker: deps.docker }), close: () => pool.close() };
  });
}

/**
 * `runnerops bot`'s operability: /healthz checks Redis; /metrics has the depth of the control queue and
 * every host's queue, every host's heartbeat age, pending approvals, control-plane job outcomes,
 * Slack/GitLab API errors (counted by the caller) and process metrics.
 */
export function startBotOps(
  deps: CommonOpsDeps & {
    settings: Pick<BotSettings, 'metricsPort' | 'redisUrl' | 'prefix'>;
    /** Approval requests waiting for a decision. @defaultValue none: no pending-approvals gauge */
    pendingApprovals?: () => Promise<number>;
    /** The worker of the control queue; its finished attempts are recorded. */
    controlWorker?: Pick<Worker, 'on'>;
    /** Security refusals by kind. */
    refusals?: ReadonlyMap<string, number>;
    /** What the bot's stream consumers saw go wrong. */
    streamFailures?: () => Array<{ stream: string; counts: Readonly<Record<string, number>> }>;
  },
): Promise<ProcessOps> {
  const { settings } = deps;
  return startOps({ ...deps, metricsPort: settings.metricsPort, redisUrl: settings.redisUrl }, (redis) => {
    const pool = createQueuePool(redis, settings.prefix);
    const metrics = createMetrics({
      defaultLabels: { process: 'bot' },
      sources: {
        queueDepths: readQueueDepths(pool, () => listKnownQueues(redis, settings.prefix)),
        heartbeatAges: readHeartbeatAges(redis, settings.prefix),
        ...(deps.pendingApprovals ? { pendingApprovals: deps.pendingApprovals } : {}),
        ...(deps.refusals ? { refusals: deps.refusals } : {}),
        ...(deps.streamFailures ? { streamFailures: deps.streamFailures } : {}),
      },
      onSourceError: (source, err) => deps.log.warn({ err, source }, 'metrics source failed'),
    });
    if (deps.controlWorker) recordJobMetrics(deps.controlWorker, metrics);
    return { metrics, checks: botHealthChecks({ redis }), close: () => pool.close() };
  });
}
