import type { Redis } from 'ioredis';
import type { WatchLimits } from '../config.js';
import { keys } from '../queue/names.js';
import { signDocument, verifyDocument } from '../queue/signed.js';
import type { KeyRing, Signer } from '../queue/signing-keys.js';
import type { Policy } from '../policy/schema.js';

/** What a worker's disk-pressure watch needs from the policy: the `watch` section and the prune defaults. */
export type WatchSettings = Policy['watch'] & { prune: Policy['prune'] };

/** String: the bot-signed WatchSettings, written by the bot at start so workers need no policy file. */
export function watchSettingsKey(prefix: string): string {
  return keys.watchSettings(prefix);
}

/** Publishes the policy's watch section (plus its prune defaults), signed with the bot's key. */
export async function publishWatchSettings(redis: Redis, prefix: string, signer: Signer, policy: Pick<Policy, 'watch' | 'prune'>): Promise<void> {
  const settings: WatchSettings = { ...policy.watch, prune: policy.prune };
  await redis.set(watchSettingsKey(prefix), JSON.stringify(signDocument(signer, 'watch-settings', settings)));
}

/**
 * The watch settings a bot published, if they verify with a bot key from this worker's config;
 * undefined before any bot started. Throws SignatureError on a record that does not verify.
 */
export async function readWatchSettings(redis: Redis, prefix: string, ring: KeyRing): Promise<WatchSettings | undefined> {
  const raw = await redis.get(watchSettingsKey(prefix));
  if (raw === null) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    doc = undefined;
  }
  return verifyDocument<WatchSettings>(doc, 'watch-settings', ring).body;
}

/**
 * What the watch does on this host: the host's own limits, narrowed by the policy (never widened). It
 * runs only where both turned it on (no bot-signed policy: off), triggers and stops at the lower
 * thresholds, always keeps the host's protect label, and prunes named volumes only where both allow it.
 */
export function effectiveWatch(limits: WatchLimits & { protectLabel: string; pruneNamedVolumes: boolean }, published: WatchSettings | undefined): WatchSettings {
  const policy = published;
  return {
    enabled: limits.enabled && policy?.enabled === true,
    minFreePercent: Math.min(limits.minFreePercent, policy?.minFreePercent ?? limits.minFreePercent),
    targetFreePercent: Math.min(limits.targetFreePercent, policy?.targetFreePercent ?? limits.targetFreePercent),
    interval: policy?.interval ?? '5m',
    gc: policy?.gc === true,
    prune: {
      until: policy?.prune.until ?? '24h',
      images: policy?.prune.images ?? 'dangling',
      namedVolumes: limits.pruneNamedVolumes && (policy?.prune.namedVolumes ?? false),
      protectLabel: limits.protectLabel,
    },
  };
}
