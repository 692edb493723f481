import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import type { Redis } from 'ioredis';
import { createRedis } from '../../src/queue/redis.js';
import type { HostEntry } from '../../src/queue/host-registry.js';
import { publishEnrolledHost } from '../helpers/test-trust.js';
import { checkDocker, checkHeartbeat, checkRedis, workerHealthChecks, botHealthChecks } from '../../src/ops/health-checks.js';
import { createHealthRunner } from '../../src/ops/start-ops-server.js';
import { deletePrefix, testRedisSettings } from '../setup/redis.js';

const { redisUrl, prefix } = testRedisSettings();
let redis: Redis;
const signal = new AbortController().signal;

function entry(name: string, lastHeartbeat: number): HostEntry {
  return { name, versions: { runnerops: 'test' }, labels: {}, publicKey: null, startedAt: lastHeartbeat, lastHeartbeat, heartbeatSeconds: 5 };
}

beforeAll(() => {
  redis = createRedis({ redisUrl });
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('checkRedis', () => {
  it('passes against a real redis-server', async () => {
    await expect(checkRedis(redis).check(signal)).resolves.toBeUndefined();
  });

  it('fails when nothing listens on the Redis port', async () => {
    const dead = createRedis({ redisUrl: 'redis://127.0.0.1:1' });
    dead.on('error', () => undefined);
    try {
      const report = await createHealthRunner([{ ...checkRedis(dead), timeoutMs: 3000 }])();
      expect(report.status).toBe('failing');
      expect(report.checks.redis?.error).toMatch(/ECONNREFUSED|no answer|retries/i);
    } finally {
      dead.disconnect();
    }
  });
});

describe('checkHeartbeat', () => {
  it('passes for a host whose heartbeat is fresh', async () => {
    await publishEnrolledHost(redis, prefix, entry('ci-fresh', Date.now() - 2000));
    await expect(checkHeartbeat(redis, prefix, 'ci-fresh').check(signal)).resolves.toMatch(/^last heartbeat 2\.\d s ago$/);
  });

  it('fails once three heartbeats were missed', async () => {
    await publishEnrolledHost(redis, prefix, entry('ci-stale', Date.now() - 16_000));
    await expect(checkHeartbeat(redis, prefix, 'ci-stale').check(signal)).rejects.toThrow(/last heartbeat 1\d\.\d s ago; expected one every 5 s/);
  });

  it('fails for a host missing from the registry', async () => {
    await expect(checkHeartbeat(redis, prefix, 'ci-gone').check(signal)).rejects.toThrow('host "ci-gone" is not in the registry');
  });
});

describe('checkDocker', () => {
  it('passes against the real Docker Engine', async () => {
    await expect(checkDocker(new Docker()).check(signal)).resolves.toBeUndefined();
  });

  it('fails when the socket does not exist', async () => {
    await expect(checkDocker(new Docker({ socketPath: '/nonexistent/docker.sock' })).check(signal)).rejects.toThrow(/ENOENT/);
  });
});

describe('workerHealthChecks', () => {
  it('checks Redis, the heartbeat and Docker, all passing on a live host', async () => {
    await publishEnrolledHost(redis, prefix, entry('ci-live', Date.now()));
    const checks = workerHealthChecks({ redis, prefix, host: 'ci-live', docker: new Docker() });
    expect(checks.map((c) => c.name)).toEqual(['redis', 'heartbeat', 'docker']);
    expect((await createHealthRunner(checks)()).status).toBe('ok');
  });
});

describe('botHealthChecks', () => {
  it('checks Redis only', () => {
    expect(botHealthChecks({ redis }).map((c) => c.name)).toEqual(['redis']);
  });
});
