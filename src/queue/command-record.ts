import type { Redis } from 'ioredis';
import { keys } from './names.js';
import { commandTtlSeconds, DEFAULT_RETENTION_SECONDS } from './retention.js';

/** Who asked, from where. `user` is a Slack user id, or `cli:<login>` from a terminal. */
export interface Requester {
  via: 'slack' | 'cli' | 'console' | 'schedule';
  user: string;
  channel?: string;
}

/** A command as stored in Redis: what was asked and where its card lives. */
export interface CommandRecord {
  id: string;
  verb: string;
  /** The command text as typed (normalised), e.g. "prune ci-3 --dry-run". */
  text: string;
  job: string;
  hosts: string[];
  requester: Requester;
  createdAt: number;
  /** Where the job card was posted, once it was. */
  card?: { channel: string; ts: string };
  /** Set for approval-gated commands. */
  approvalId?: string;
  /** Set for commands started by a schedule: its name. */
  schedule?: string;
  /** How long hosts have to answer before the card calls them silent. */
  timeoutMs?: number;
}

export type RowStatus = 'queued' | 'running' | 'retrying' | 'done' | 'failed' | 'silent';

/** One host's line on a job card. */
export interface CommandRow {
  host: string;
  status: RowStatus;
  phase?: string;
  detail?: string;
  summary?: string;
  result?: unknown;
  queuedAt: number;
  startedAt?: number;
  finishedAt?: number;
}

const RECENT = 1000;

export function isTerminal(status: RowStatus): boolean {
  return status === 'done' || status === 'failed' || status === 'silent';
}

/** Stores a new command and its rows; they expire `retentionSeconds` after the command's timeout. */
export async function saveCommand(redis: Redis, prefix: string, record: CommandRecord, retentionSeconds = DEFAULT_RETENTION_SECONDS): Promise<void> {
  const ttl = commandTtlSeconds(retentionSeconds, record.timeoutMs ?? 0);
  const rows = Object.fromEntries(
    record.hosts.map((host): [string, string] => [host, JSON.stringify({ host, status: 'queued', queuedAt: record.createdAt } satisfies CommandRow)]),
  );
  const multi = redis
    .multi()
    .set(keys.command(prefix, record.id), JSON.stringify(record), 'EX', ttl)
    .lpush(keys.commands(prefix), record.id)
    .ltrim(keys.commands(prefix), 0, RECENT - 1);
  if (record.hosts.length > 0) multi.hset(keys.commandRows(prefix, record.id), rows).expire(keys.commandRows(prefix, record.id), ttl);
  await multi.exec();
}

export async function readCommand(redis: Redis, prefix: string, id: string): Promise<CommandRecord | undefined> {
  const raw = await redis.get(keys.command(prefix, id));
  return raw ? (JSON.parse(raw) as CommandRecord) : undefined;
}

export async function updateCommand(redis: Redis, prefix: string, id: string, patch: Partial<CommandRecord>): Promise<void> {
  const current = await readCommand(redis, prefix, id);
  if (!current) return;
  await redis.set(keys.command(prefix, id), JSON.stringify({ ...current, ...patch }), 'KEEPTTL');
}

export async function readRows(redis: Redis, prefix: string, id: string): Promise<CommandRow[]> {
  const all = await redis.hgetall(keys.commandRows(prefix, id));
  return Object.values(all)
    .map((raw) => JSON.parse(raw) as CommandRow)
    .sort((a, b) => a.host.localeCompare(b.host));
}

export async function recentCommandIds(redis: Redis, prefix: string, limit: number): Promise<string[]> {
  return redis.lrange(keys.commands(prefix), 0, limit - 1);
}
