import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import type { Redis } from 'ioredis';
import { createLogger } from '../../src/logger.js';
import { createRedis } from '../../src/queue/redis.js';
import type { HostEntry } from '../../src/queue/host-registry.js';
import { publishEnrolledHost } from '../helpers/test-trust.js';
import { startBotOps, startWorkerOps } from '../../src/ops/start-process-ops.js';
import { deletePrefix, testRedisSettings } from '../setup/redis.js';

const { redisUrl, prefix } = testRedisSettings();
const log = createLogger({ name: 'test', level: 'silent' });
let redis: Redis;

function entry(name: string): HostEntry {
  return { name, versions: { runnerops: 'test' }, labels: {}, publicKey: null, startedAt: Date.now(), lastHeartbeat: Date.now(), heartbeatSeconds: 5 };
}

beforeAll(async () => {
  redis = createRedis({ redisUrl });
  await publishEnrolledHost(redis, prefix, entry('ci-ops'));
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('startWorkerOps', () => {
  it('serves /healthz with Redis, heartbeat and Docker, and /metrics with its queue depth', async () => {
    const ops = await startWorkerOps({
      settings: { metricsPort: 0, redisUrl, prefix, host: 'ci-ops' },
      docker: new Docker(),
      log,
      listen: { port: 0, host: '127.0.0.1' },
    });
    try {
      const base = `http://127.0.0.1:${ops.server?.port}`;
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      const body = (await health.json()) as { checks: Record<string, { ok: boolean }> };
      expect(Object.keys(body.checks).sort()).toEqual(['docker', 'heartbeat', 'redis']);
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toContain('runnerops_queue_depth{queue="host.ci-ops",state="waiting",process="worker",host="ci-ops"} 0');
      expect(text).toContain('process_resident_memory_bytes');
    } finally {
      await ops.stop();
    }
  });

  it('answers 503 when this host is missing from the registry', async () => {
    const ops = await startWorkerOps({
      settings: { metricsPort: 0, redisUrl, prefix, host: 'ci-missing' },
      docker: new Docker(),
      log,
      listen: { port: 0, host: '127.0.0.1' },
    });
    try {
      const health = await fetch(`http://127.0.0.1:${ops.server?.port}/healthz`);
      expect(health.status).toBe(503);
    } finally {
      await ops.stop();
    }
  });

  it('listens on nothing when RUNNEROPS_METRICS_PORT is 0, but still counts', async () => {
    const ops = await startWorkerOps({ settings: { metricsPort: 0, redisUrl, prefix, host: 'ci-ops' }, docker: new Docker(), log, redis });
    try {
      expect(ops.server).toBeUndefined();
      ops.metrics.observeJob('ping', 'completed', 0.1);
      expect(await ops.metrics.registry.metrics()).toContain('runnerops_jobs_total{job="ping",outcome="completed",process="worker",host="ci-ops"} 1');
    } finally {
      await ops.stop();
    }
    expect(await redis.ping()).toBe('PONG');
  });
});

describe('startBotOps', () => {
  it('serves /healthz with Redis and /metrics with every queue, heartbeat ages and pending approvals', async () => {
    const ops = await startBotOps({
      settings: { metricsPort: 0, redisUrl, prefix },
      pendingApprovals: async () => 3,
      log,
      listen: { port: 0, host: '127.0.0.1' },
    });
    const base = `http://127.0.0.1:${ops.server?.port}`;
    try {
      const health = (await (await fetch(`${base}/healthz`)).json()) as { status: string; checks: Record<string, unknown> };
      expect(health.status).toBe('ok');
      expect(Object.keys(health.checks)).toEqual(['redis']);
      ops.metrics.countApiError('gitlab', 'http_503');
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toContain('runnerops_queue_depth{queue="control",state="waiting",process="bot"} 0');
      expect(text).toContain('runnerops_queue_depth{queue="host.ci-ops",state="waiting",process="bot"} 0');
      expect(text).toMatch(/runnerops_heartbeat_age_seconds\{host="ci-ops",process="bot"\} \d/);
      expect(text).toContain('runnerops_pending_approvals{process="bot"} 3');
      expect(text).toContain('runnerops_api_errors_total{api="gitlab",kind="http_503",process="bot"} 1');
    } finally {
      await ops.stop();
    }
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
