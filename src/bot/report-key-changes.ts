import type { Redis } from 'ioredis';
import { listTrustedHosts, type BotTrust } from '../queue/bot-trust.js';
import { keys } from '../queue/names.js';
import { reportSecurity, type SecurityDeps } from './report-security.js';

/**
 * Reports, once a day per host and fingerprint, an enrolled host whose registry entry now carries
 * other keys: a reinstalled host, or a second worker claiming its name. Nothing runs there (the bot
 * neither queues jobs to it nor believes its events) until a person enrols it again.
 */
export async function reportKeyChanges(deps: { redis: Redis; prefix: string; trust: BotTrust }, security: SecurityDeps): Promise<void> {
  for (const host of await listTrustedHosts(deps.redis, deps.prefix, deps.trust)) {
    if (host.trust !== 'key-changed') continue;
    const seen = host.fingerprint ?? 'unsigned';
    const first = await deps.redis.set(keys.reportedKey(deps.prefix, host.name, seen), '1', 'EX', 86400, 'NX');
    if (first !== 'OK') continue;
    await reportSecurity(
      security,
      'host-key-changed',
      `${host.name} now presents key ${seen}, not the enrolled ${host.enrolledFingerprint}: a reinstalled host, or another worker claiming its name. Nothing runs there until an operator checks the host ("runnerops fingerprint" on it) and enrols it again`,
    );
  }
}
