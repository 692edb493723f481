import type { Redis } from 'ioredis';
import { keys } from '../queue/names.js';

/** What is kept of one store report: enough for trends and charts, a few hundred bytes. */
export interface StoreHistoryEntry {
  /** When the report was made (ms since epoch). */
  at: number;
  paths: number;
  /** Sum of NAR sizes of all valid paths. */
  narBytes: number;
  garbagePaths: number;
  garbageBytes: number;
  /** Free space of the file system holding the store. */
  freeBytes: number;
  totalBytes: number;
}

/** How a host's store changed since its previous report. */
export interface StoreTrend {
  previousAt: number;
  /** Time between the two reports (ms). */
  sinceMs: number;
  pathsChange: number;
  narBytesChange: number;
  garbagePathsChange: number;
  garbageBytesChange: number;
  freeBytesChange: number;
}

/** Reports kept per host (about three months of daily reports). */
export const STORE_HISTORY_LIMIT = 90;

/** A host that stops reporting loses its history after this long. */
const HISTORY_TTL_MS = 400 * 24 * 3600 * 1000;

/** The Redis list holding a host's reports, newest first. */
export function storeHistoryKey(prefix: string, host: string): string {
  return keys.storeHistory(prefix, host);
}

/**
 * Adds a report to the host's history (bounded to `limit`, newest first) and returns the report
 * before it, in one MULTI so two reports at once still each see a previous one.
 */
export async function recordStoreReport(
  redis: Redis,
  prefix: string,
  host: string,
  entry: StoreHistoryEntry,
  limit: number = STORE_HISTORY_LIMIT,
): Promise<StoreHistoryEntry | undefined> {
  const key = storeHistoryKey(prefix, host);
  const replies = await redis
    .multi()
    .lindex(key, 0)
    .lpush(key, JSON.stringify(entry))
    .ltrim(key, 0, limit - 1)
    .pexpire(key, HISTORY_TTL_MS)
    .exec();
  if (replies === null || replies[0] === undefined) throw new Error(`recording the store report of ${host} was aborted`);
  const [error, previous] = replies[0];
  if (error) throw error;
  return parseEntry(previous);
}

/** The host's last `limit` reports, oldest first (for charts and sparklines). */
export async function readStoreHistory(redis: Redis, prefix: string, host: string, limit: number = STORE_HISTORY_LIMIT): Promise<StoreHistoryEntry[]> {
  const raw = await redis.lrange(storeHistoryKey(prefix, host), 0, limit - 1);
  return raw
    .map(parseEntry)
    .filter((e): e is StoreHistoryEntry => e !== undefined)
    .reverse();
}

/** The change from `previous` to `current`, or null for a host's first report. */
export function computeStoreTrend(previous: StoreHistoryEntry | undefined, current: StoreHistoryEntry): StoreTrend | null {
  if (previous === undefined) return null;
  return {
    previousAt: previous.at,
    sinceMs: current.at - previous.at,
    pathsChange: current.paths - previous.paths,
    narBytesChange: current.narBytes - previous.narBytes,
    garbagePathsChange: current.garbagePaths - previous.garbagePaths,
    garbageBytesChange: current.garbageBytes - previous.garbageBytes,
    freeBytesChange: current.freeBytes - previous.freeBytes,
  };
}

const FIELDS = ['at', 'paths', 'narBytes', 'garbagePaths', 'garbageBytes', 'freeBytes', 'totalBytes'] as const;

/** A stored entry, or undefined when it is missing or not one of ours (skipped, never fatal). */
function parseEntry(raw: unknown): StoreHistoryEntry | undefined {
  if (typeof raw !== 'string') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const entry = {} as StoreHistoryEntry;
  for (const field of FIELDS) {
    const n = record[field];
    if (typeof n !== 'number' || !Number.isFinite(n)) return undefined;
    entry[field] = n;
  }
  return entry;
}
