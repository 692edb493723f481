import type { Redis } from 'ioredis';
import { readEnrolments, withTrust } from './enrolment.js';
import type { EventSigners } from './events.js';
import { listHosts, type HostStatus } from './host-registry.js';
import { keyIdOf, parsePublicKey, type KeyRing, type Signer } from './signing-keys.js';

/** What the bot trusts: its own signing key, the bot keys it accepts, and fingerprints pinned in its config. */
export interface BotTrust {
  signer: Signer;
  /** Bot public keys accepted on what bots signed (the current one and those of an overlap window). */
  ring: KeyRing;
  /** Host -> fingerprint pinned in the bot's config (RUNNEROPS_ENROLLED_HOSTS); wins over Redis records. */
  pinned: ReadonlyMap<string, string>;
}

/** Every registered host with its trust (enrolled, pending, key-changed, unsigned). */
export async function listTrustedHosts(redis: Redis, prefix: string, trust: BotTrust, now = Date.now()): Promise<HostStatus[]> {
  const [hosts, enrolled] = await Promise.all([listHosts(redis, prefix, now), readEnrolments(redis, prefix, trust.ring, trust.pinned)]);
  return withTrust(hosts, enrolled);
}

/** One enrolled host's keys, or undefined when the host is unknown or not (or no longer) enrolled. */
export async function enrolledHost(redis: Redis, prefix: string, trust: BotTrust, name: string): Promise<HostStatus | undefined> {
  const host = (await listTrustedHosts(redis, prefix, trust)).find((h) => h.name === name);
  return host?.trust === 'enrolled' ? host : undefined;
}

/**
 * Who may sign events about a host: the bot's keys (control-plane jobs) and the host's enrolled key.
 * Host keys are cached for `cacheMs`; `fresh` reads them again (an event signed by a key the cache does not know).
 */
export function createEventSigners(redis: Redis, prefix: string, trust: BotTrust, cacheMs = 2000): EventSigners {
  let cached: { at: number; keys: Map<string, KeyRing> } | undefined;
  const load = async () => {
    const hosts = await listTrustedHosts(redis, prefix, trust);
    const byHost = new Map<string, KeyRing>();
    for (const host of hosts) {
      if (host.trust !== 'enrolled' || !host.signPublicKey) continue;
      byHost.set(host.name, new Map([...trust.ring, [keyIdOf(host.signPublicKey), parsePublicKey(host.signPublicKey, 'registry')]]));
    }
    cached = { at: Date.now(), keys: byHost };
    return byHost;
  };
  return async (host, fresh = false) => {
    const keys = !fresh && cached && Date.now() - cached.at < cacheMs ? cached.keys : await load();
    return keys.get(host) ?? trust.ring;
  };
}
