import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { Signer } from '../queue/signing-keys.js';
import { beat, publishHost, readHost, removeHost, type HostEntry } from '../queue/host-registry.js';

/**
 * Publishes the host entry now, signed with the host key (keeping the facts it recorded itself before
 * a restart) and beats every `heartbeatSeconds`. If the entry vanished (Redis lost its data) or another
 * key took the name, the next beat publishes this host's own entry again (and says so: the bot sees the
 * fingerprint change and reports it). A failed beat is logged and retried at the next tick.
 */
export async function startHeartbeat(
  redis: Redis,
  prefix: string,
  signer: Signer,
  entry: HostEntry,
  log: Logger,
): Promise<{ stop: (options?: { remove?: boolean }) => Promise<void> }> {
  const previous = await readHost(redis, prefix, entry.name);
  const own = previous?.signPublicKey === signer.publicKey ? previous : undefined;
  const facts = own ? { runners: own.runners, systemId: own.systemId, disk: own.disk, store: own.store, daemon: own.daemon } : {};
  await publishHost(redis, prefix, signer, { ...JSON.parse(JSON.stringify(facts)), ...entry, lastHeartbeat: Date.now() });
  const tick = async () => {
    const current = await readHost(redis, prefix, entry.name);
    if (current?.signPublicKey === signer.publicKey) return beat(redis, prefix, entry.name);
    if (current)
      log.error(
        { otherKey: current.signPublicKey },
        `another worker with a different key claims the host name ${entry.name}; publishing this host's entry again`,
      );
    await publishHost(redis, prefix, signer, { ...entry, lastHeartbeat: Date.now() });
  };
  const timer = setInterval(() => {
    tick().catch((err: unknown) => log.warn({ err }, 'heartbeat failed; retrying at the next beat'));
  }, entry.heartbeatSeconds * 1000);
  return {
    stop: async ({ remove = true } = {}) => {
      clearInterval(timer);
      // Leave only with this host's own entry: never one another key wrote.
      if (remove && (await readHost(redis, prefix, entry.name))?.signPublicKey === signer.publicKey) await removeHost(redis, prefix, entry.name);
    },
  };
}
