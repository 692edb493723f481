import type Docker from 'dockerode';
import type { Redis } from 'ioredis';
import { hostStatus, readHost } from '../queue/host-registry.js';

/** One named check behind /healthz: resolves (optionally with a short detail) when healthy, throws when not. */
export interface HealthCheck {
  name: string;
  /** Should stop work when `signal` aborts (the check's timeout passed). */
  check: (signal: AbortSignal) => Promise<string | void>;
  /** Longest wait before the check counts as failed. @defaultValue 2000 */
  timeoutMs?: number;
}

/** Redis answers PING. */
export function checkRedis(redis: Pick<Redis, 'ping'>): HealthCheck {
  return {
    name: 'redis',
    async check() {
      const reply = await redis.ping();
      if (reply !== 'PONG') throw new Error(`PING answered "${reply}"`);
    },
  };
}

/** This worker's registry entry exists and was refreshed within three heartbeat intervals. */
export function checkHeartbeat(redis: Redis, prefix: string, host: string, now: () => number = Date.now): HealthCheck {
  return {
    name: 'heartbeat',
    async check() {
      const entry = await readHost(redis, prefix, host);
      if (!entry) throw new Error(`host "${host}" is not in the registry; the heartbeat has not run or was removed`);
      const status = hostStatus(entry, now());
      const age = `last heartbeat ${status.ageSeconds.toFixed(1)} s ago`;
      if (!status.alive) throw new Error(`${age}; expected one every ${entry.heartbeatSeconds} s`);
      return age;
    },
  };
}

/** What checkDocker needs: dockerode's `ping`, which (unlike its typings say) takes an abort signal. */
export interface DockerPing {
  ping: (options?: { abortSignal?: AbortSignal }) => Promise<unknown>;
}

/** The Docker Engine answers `GET /_ping`. */
export function checkDocker(docker: DockerPing | Docker): HealthCheck {
  const pingable = docker as DockerPing;
  return {
    name: 'docker',
    async check(signal) {
      await pingable.ping({ abortSignal: signal });
    },
  };
}

/** What `runnerops worker` reports on /healthz: Redis, its own heartbeat, and Docker. */
export function workerHealthChecks(deps: { redis: Redis; prefix: string; host: string; docker: DockerPing | Docker }): HealthCheck[] {
  return [checkRedis(deps.redis), checkHeartbeat(deps.redis, deps.prefix, deps.host), checkDocker(deps.docker)];
}

/**
 * What `runnerops bot` reports on /healthz: Redis only. A bot is healthy with every worker down
 * (it must still answer "no host has a fresh heartbeat"); worker freshness is a metric, not a restart reason.
 */
export function botHealthChecks(deps: { redis: Redis }): HealthCheck[] {
  return [checkRedis(deps.redis)];
}
