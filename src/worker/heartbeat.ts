import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { beat, publishHost, readHost, removeHost, type HostEntry } from '../queue/host-registry.js';

/**
 * Publishes the host entry now (keeping the facts jobs recorded before a restart) and beats every
 * `heartbeatSeconds`. If the entry vanished (Redis lost its data), the next beat publishes it again.
 * A failed beat (Redis restarting) is logged and retried at the next tick. `stop` removes the entry.
 */
export async function startHeartbeat(
  redis: Redis,
  prefix: string,
  entry: HostEntry,
  log: Logger,
): Promise<{ stop: (options?: { remove?: boolean }) => Promise<void> }> {
  const previous = await readHost(redis, prefix, entry.name);
  const facts = previous ? { runners: previous.runners, disk: previous.disk, store: previous.store, daemon: previous.daemon } : {};
  await publishHost(redis, prefix, { ...JSON.parse(JSON.stringify(facts)), ...entry, lastHeartbeat: Date.now() });
  const tick = async () => {
    if (await readHost(redis, prefix, entry.name)) await beat(redis, prefix, entry.name);
    else await publishHost(redis, prefix, { ...entry, lastHeartbeat: Date.now() });
  };
  const timer = setInterval(() => {
    tick().catch((err: unknown) => log.warn({ err }, 'heartbeat failed; retrying at the next beat'));
  }, entry.heartbeatSeconds * 1000);
  return {
    stop: async ({ remove = true } = {}) => {
      clearInterval(timer);
      if (remove) await removeHost(redis, prefix, entry.name);
    },
  };
}
