import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { publishHost, readHost, removeHost, type HostEntry } from '../queue/host-registry.js';

/**
 * Publishes the host entry now and refreshes its heartbeat every `heartbeatSeconds`; a failed beat
 * (Redis restarting) is logged and retried at the next tick. `stop` removes the entry.
 */
export async function startHeartbeat(
  redis: Redis,
  prefix: string,
  entry: HostEntry,
  log: Logger,
): Promise<{ stop: (options?: { remove?: boolean }) => Promise<void> }> {
  await publishHost(redis, prefix, { ...entry, lastHeartbeat: Date.now() });
  const beat = async () => {
    // Keep what others added (runners, disk from host-facts); refresh identity and time.
    const current = (await readHost(redis, prefix, entry.name)) ?? entry;
    await publishHost(redis, prefix, { ...current, ...entry, runners: current.runners, disk: current.disk, lastHeartbeat: Date.now() } as HostEntry);
  };
  const timer = setInterval(() => {
    beat().catch((err: unknown) => log.warn({ err }, 'heartbeat failed; retrying at the next beat'));
  }, entry.heartbeatSeconds * 1000);
  return {
    stop: async ({ remove = true } = {}) => {
      clearInterval(timer);
      if (remove) await removeHost(redis, prefix, entry.name);
    },
  };
}
