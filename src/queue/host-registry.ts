import type { Redis } from 'ioredis';
import { UserError } from '../errors.js';
import type { Target } from '../commands/requests.js';
import { keys } from './names.js';

/** A runner entry as a host reports it (never its token). */
export interface RunnerSummary {
  name: string;
  id?: number;
  url?: string;
  /** RFC 3339, or undefined when the token does not expire. */
  tokenExpiresAt?: string;
}

/** What a worker publishes about its host. */
export interface HostEntry {
  name: string;
  versions: { runnerops: string; docker?: string; nix?: string; gitlabRunner?: string };
  labels: Record<string, string>;
  /** Base64 X25519 public key for sealed runner tokens; null until the worker has one. */
  publicKey: string | null;
  startedAt: number;
  lastHeartbeat: number;
  heartbeatSeconds: number;
  /** Filled by host-facts: the runners in this host's config.toml. */
  runners?: RunnerSummary[];
  /** Filled by host-facts and store reports: free bytes of Docker's data root and of the Nix store. */
  disk?: { dockerFreeBytes?: number; nixFreeBytes?: number };
  /** Filled by store reports: store size and what a GC would free. */
  store?: { totalNarBytes: number; garbageBytes: number; at: number };
  /** Filled by nix-daemon restarts and host-facts: whether the daemon answered last time it was asked. */
  daemon?: { healthy: boolean; at: number; detail?: string };
}

export interface HostStatus extends HostEntry {
  ageSeconds: number;
  /** False once three heartbeats were missed. */
  alive: boolean;
}

export async function publishHost(redis: Redis, prefix: string, entry: HostEntry): Promise<void> {
  await redis.multi().hset(keys.hosts(prefix), entry.name, JSON.stringify(entry)).hset(keys.heartbeats(prefix), entry.name, String(entry.lastHeartbeat)).exec();
}

/** A heartbeat: one field write, so it never races with an entry update. */
export async function beat(redis: Redis, prefix: string, name: string, at = Date.now()): Promise<void> {
  await redis.hset(keys.heartbeats(prefix), name, String(at));
}

/** Merges `patch` (runners, disk, store, daemon) into an existing entry; `disk` merges field by field. */
export async function touchHost(redis: Redis, prefix: string, name: string, patch: Partial<HostEntry>): Promise<void> {
  const current = await readHost(redis, prefix, name);
  if (!current) return;
  const disk = patch.disk ? { disk: { ...current.disk, ...patch.disk } } : {};
  await redis.hset(keys.hosts(prefix), name, JSON.stringify({ ...current, ...patch, ...disk, name }));
}

export async function removeHost(redis: Redis, prefix: string, name: string): Promise<void> {
  await redis.multi().hdel(keys.hosts(prefix), name).hdel(keys.heartbeats(prefix), name).exec();
}

function withBeat(raw: string, beatAt: string | null | undefined): HostEntry {
  const entry = JSON.parse(raw) as HostEntry;
  return beatAt ? { ...entry, lastHeartbeat: Math.max(entry.lastHeartbeat, Number(beatAt)) } : entry;
}

export async function readHost(redis: Redis, prefix: string, name: string): Promise<HostEntry | undefined> {
  const [raw, beatAt] = await Promise.all([redis.hget(keys.hosts(prefix), name), redis.hget(keys.heartbeats(prefix), name)]);
  return raw ? withBeat(raw, beatAt) : undefined;
}

export function hostStatus(entry: HostEntry, now: number): HostStatus {
  const ageSeconds = Math.max(0, (now - entry.lastHeartbeat) / 1000);
  return { ...entry, ageSeconds, alive: ageSeconds <= entry.heartbeatSeconds * 3 };
}

/** Every registered host, sorted by name, with its heartbeat age. */
export async function listHosts(redis: Redis, prefix: string, now = Date.now()): Promise<HostStatus[]> {
  const [all, beats] = await Promise.all([redis.hgetall(keys.hosts(prefix)), redis.hgetall(keys.heartbeats(prefix))]);
  return Object.entries(all)
    .map(([name, raw]) => hostStatus(withBeat(raw, beats[name]), now))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Turns `<host|all>` into the hosts to run on: one known host (alive or not: its queue keeps the job
 * until it comes back), or every live host. Unknown names get the list of known ones.
 */
export function resolveTarget(target: Target, hosts: HostStatus[]): string[] {
  if (target.kind === 'all') {
    const live = hosts.filter((h) => h.alive).map((h) => h.name);
    if (live.length === 0) {
      throw new UserError(hosts.length === 0 ? 'no hosts are registered; start "runnerops worker" on a runner host' : 'no host has a fresh heartbeat; check the workers');
    }
    return live;
  }
  return [requireHost(target.host, hosts).name];
}

export function requireHost(name: string, hosts: HostStatus[]): HostStatus {
  const found = hosts.find((h) => h.name === name);
  if (!found) {
    const known = hosts.map((h) => h.name);
    throw new UserError(
      known.length === 0
        ? `unknown host "${name}"; no hosts are registered yet`
        : `unknown host "${name}"; known: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', …' : ''}`,
    );
  }
  return found;
}
