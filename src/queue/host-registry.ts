import type { Redis } from 'ioredis';
import { hostFingerprint } from './host-fingerprint.js';
import { keys } from './names.js';
import { signDocument, verifyDocument, type Signed } from './signed.js';
import { parsePublicKey, keyIdOf, type Signer } from './signing-keys.js';
import { createVerifiedCache } from './verified-cache.js';

/** A runner entry as a host reports it (never its token). */
export interface RunnerSummary {
  name: string;
  id?: number;
  url?: string;
  /** RFC 3339, or undefined when the token does not expire. */
  tokenExpiresAt?: string;
  /** First 16 hex digits of the token's SHA-256: equal on two hosts means one token on both. Never the token. */
  tokenFingerprint?: string;
}

/** What a worker publishes about its host, signed with its host key. */
export interface HostEntry {
  name: string;
  versions: { runnerops: string; docker?: string; nix?: string; gitlabRunner?: string };
  labels: Record<string, string>;
  /** Base64 X25519 public key for sealed runner tokens; null until the worker has one. */
  publicKey: string | null;
  /** `ed25519:...` key the host signs its entry, events and results with; null for an unsigned entry. */
  signPublicKey?: string | null;
  startedAt: number;
  lastHeartbeat: number;
  heartbeatSeconds: number;
  /** Filled by host-facts: the runners in this host's config.toml. */
  runners?: RunnerSummary[];
  /** Filled by host-facts: the runner-manager id GitLab knows this host by (`.runner_system_id`); null: none yet. */
  systemId?: string | null;
  /** Filled by host-facts and store reports: free bytes of Docker's data root and of the Nix store. */
  disk?: { dockerFreeBytes?: number; nixFreeBytes?: number };
  /** Filled by store reports: store size and what a GC would free. */
  store?: { totalNarBytes: number; garbageBytes: number; at: number };
  /** Filled by nix-daemon restarts and host-facts: whether the daemon answered last time it was asked. */
  daemon?: { healthy: boolean; at: number; detail?: string };
}

/**
 * Whether the bot may act on a host: `enrolled` (its keys match the fingerprint a person confirmed),
 * `pending` (never enrolled), `key-changed` (enrolled with other keys: a reinstall, or another worker
 * claiming the name), `unsigned` (the entry carries no valid signature of its own key).
 */
export type HostTrust = 'enrolled' | 'pending' | 'key-changed' | 'unsigned';

export interface HostStatus extends HostEntry {
  ageSeconds: number;
  /** False once three heartbeats were missed. */
  alive: boolean;
  /** Fingerprint of the keys in this entry (hostFingerprint), when it is validly signed. */
  fingerprint?: string;
  /** Filled by the bot (withTrust); undefined where nobody asked. */
  trust?: HostTrust;
  /** The fingerprint a person enrolled, when it differs from `fingerprint`. */
  enrolledFingerprint?: string;
}

/** The signed entry as stored: a host can only write an entry that verifies with its own key. */
function signedEntry(signer: Signer, entry: HostEntry): string {
  return JSON.stringify(signDocument(signer, 'host-entry', { ...entry, signPublicKey: signer.publicKey }));
}

/** Reads a stored entry (input from Redis: anyone with access may have written it). */
export function parseStoredEntry(raw: string): { entry: HostEntry; fingerprint?: string } | undefined {
  let doc: Signed<HostEntry>;
  try {
    doc = JSON.parse(raw) as Signed<HostEntry>;
  } catch {
    return undefined;
  }
  const entry = doc?.body;
  if (!entry || typeof entry !== 'object' || typeof entry.name !== 'string') return undefined;
  try {
    if (typeof entry.signPublicKey !== 'string' || typeof entry.publicKey !== 'string') throw new Error('unsigned');
    const key = parsePublicKey(entry.signPublicKey, 'registry entry');
    verifyDocument<HostEntry>(doc, 'host-entry', new Map([[keyIdOf(entry.signPublicKey), key]]));
    return { entry, fingerprint: hostFingerprint(entry.signPublicKey, entry.publicKey) };
  } catch {
    return { entry };
  }
}

export async function publishHost(redis: Redis, prefix: string, signer: Signer, entry: HostEntry): Promise<void> {
  await redis
    .multi()
    .sadd(keys.hostIndex(prefix), entry.name)
    .set(keys.hostEntry(prefix, entry.name), signedEntry(signer, entry))
    .set(keys.heartbeat(prefix, entry.name), String(entry.lastHeartbeat))
    .exec();
}

/** A heartbeat: one key write, so it never races with an entry update. */
export async function beat(redis: Redis, prefix: string, name: string, at = Date.now()): Promise<void> {
  await redis.set(keys.heartbeat(prefix, name), String(at));
}

/**
 * Merges `patch` (runners, disk, store, daemon) into this host's own entry and signs it again; `disk`
 * merges field by field. An entry another key wrote (someone else claiming the name) is left to the
 * heartbeat, which publishes this host's whole entry again: nothing of the other entry is adopted.
 */
export async function touchHost(redis: Redis, prefix: string, signer: Signer, name: string, patch: Partial<HostEntry>): Promise<void> {
  const own = await readHost(redis, prefix, name);
  if (!own || own.signPublicKey !== signer.publicKey || !own.fingerprint) return;
  const disk = patch.disk ? { disk: { ...own.disk, ...patch.disk } } : {};
  const { ageSeconds: _a, alive: _l, fingerprint: _f, trust: _t, enrolledFingerprint: _e, ...entry } = hostStatus(own, Date.now());
  await redis.set(keys.hostEntry(prefix, name), signedEntry(signer, { ...entry, ...patch, ...disk, name }));
}

/** Drops names from the index whose host left the registry (bots only; a worker may only add its name). */
export async function forgetGoneHosts(redis: Redis, prefix: string): Promise<number> {
  const names = await redis.smembers(keys.hostIndex(prefix));
  if (names.length === 0) return 0;
  const entries = await redis.mget(...names.map((n) => keys.hostEntry(prefix, n)));
  const gone = names.filter((_, i) => entries[i] === null);
  return gone.length > 0 ? redis.srem(keys.hostIndex(prefix), ...gone) : 0;
}

/** Leaves the registry (a clean stop). The name stays in the index until a bot forgets it; readers skip names without an entry. */
export async function removeHost(redis: Redis, prefix: string, name: string): Promise<void> {
  await redis.del(keys.hostEntry(prefix, name), keys.heartbeat(prefix, name));
}

function withBeat(entry: HostEntry, beatAt: string | null | undefined): HostEntry {
  const at = Number(beatAt);
  return beatAt && Number.isFinite(at) ? { ...entry, lastHeartbeat: Math.max(entry.lastHeartbeat, at) } : entry;
}

/** parseStoredEntry of each host's stored entry, verified once per change of its bytes. */
const storedEntry = createVerifiedCache(parseStoredEntry);

function statusOf(name: string, raw: string | null | undefined, beatAt: string | null | undefined, now: number): HostStatus | undefined {
  if (!raw) return undefined;
  const parsed = storedEntry(name, raw);
  if (!parsed) return undefined;
  return { ...hostStatus(withBeat(parsed.entry, beatAt), now), ...(parsed.fingerprint ? { fingerprint: parsed.fingerprint } : {}) };
}

export async function readHost(redis: Redis, prefix: string, name: string, now = Date.now()): Promise<HostStatus | undefined> {
  const [raw, beatAt] = await redis.mget(keys.hostEntry(prefix, name), keys.heartbeat(prefix, name));
  return statusOf(name, raw, beatAt, now);
}

export function hostStatus(entry: HostEntry, now: number): HostStatus {
  const ageSeconds = Math.max(0, (now - entry.lastHeartbeat) / 1000);
  return { ...entry, ageSeconds, alive: ageSeconds <= entry.heartbeatSeconds * 3 };
}

/** Every registered host, sorted by name, with its heartbeat age and the fingerprint of its keys. */
export async function listHosts(redis: Redis, prefix: string, now = Date.now()): Promise<HostStatus[]> {
  const names = (await redis.smembers(keys.hostIndex(prefix))).sort();
  if (names.length === 0) return [];
  const values = await redis.mget(...names.flatMap((n) => [keys.hostEntry(prefix, n), keys.heartbeat(prefix, n)]));
  const hosts: HostStatus[] = [];
  names.forEach((name, i) => {
    const status = statusOf(name, values[2 * i], values[2 * i + 1], now);
    if (status && status.name === name) hosts.push(status);
  });
  return hosts;
}
