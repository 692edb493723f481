import type { Redis } from 'ioredis';
import { keys } from './names.js';
import { signDocument, verifyDocument } from './signed.js';
import type { KeyRing, Signer } from './signing-keys.js';

/**
 * What a worker's disk-pressure watch needs from the policy: its `watch` section and the prune defaults
 * (src/policy/schema.ts has their defaults). Written out here, since the contract imports no policy code.
 */
export interface WatchSettings {
  enabled: boolean;
  /** Free space (percent) below which a host prunes itself. */
  minFreePercent: number;
  /** Free space (percent) the self-prune aims for. */
  targetFreePercent: number;
  /** Duration between checks, e.g. `5m`. */
  interval: string;
  /** Also collect Nix garbage (gc) when the store's own filesystem stays low. */
  gc: boolean;
  prune: { until: string; images: 'dangling' | 'unused'; namedVolumes: boolean; protectLabel: string };
}

/** What a host's own config allows its watch (the worker's WatchLimits, plus its prune limits). */
export interface HostWatchLimits {
  enabled: boolean;
  minFreePercent: number;
  targetFreePercent: number;
  protectLabel: string;
  pruneNamedVolumes: boolean;
}

/** String: the bot-signed WatchSettings, written by the bot at start so workers need no policy file. */
export function watchSettingsKey(prefix: string): string {
  return keys.watchSettings(prefix);
}

/** Publishes the policy's watch section (plus its prune defaults), signed with the bot's key. */
export async function publishWatchSettings(
  redis: Redis,
  prefix: string,
  signer: Signer,
  policy: { watch: Omit<WatchSettings, 'prune'>; prune: WatchSettings['prune'] },
): Promise<void> {
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
export function effectiveWatch(limits: HostWatchLimits, published: WatchSettings | undefined): WatchSettings {
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
