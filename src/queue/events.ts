import type { Redis } from 'ioredis';
import { keys } from './names.js';
import type { CommandRow } from './command-record.js';

/** What workers (and the control plane) tell bots and CLIs about a job. */
export interface JobEvent {
  type: 'started' | 'progress' | 'completed' | 'failed' | 'retrying';
  commandId: string;
  host: string;
  job: string;
  at: number;
  phase?: string;
  detail?: string;
  /** Plain-text summary of a result (completed) or the one-line reason (failed/retrying). */
  summary?: string;
  /** The job's structured result (completed only); never holds a secret. */
  result?: unknown;
  /** A step of a control-plane job: its completion does not finish the host's row. */
  step?: boolean;
}

const MAX_EVENTS = 100_000;

/** The host's job-card row after an event. */
export function applyEvent(row: CommandRow | undefined, event: JobEvent): CommandRow {
  const base: CommandRow = row ?? { host: event.host, status: 'queued', queuedAt: event.at };
  const phase = event.phase ?? base.phase;
  const detail = event.detail;
  const next: CommandRow = { ...base, ...(phase !== undefined ? { phase } : {}), ...(detail !== undefined ? { detail } : {}) };
  if (event.step && (event.type === 'completed' || event.type === 'failed')) {
    return { ...next, status: 'running', ...(event.summary !== undefined ? { detail: event.summary } : {}) };
  }
  switch (event.type) {
    case 'started':
      return { ...next, status: 'running', startedAt: base.startedAt ?? event.at };
    case 'progress':
      return { ...next, status: base.status === 'queued' ? 'running' : base.status };
    case 'retrying':
      return { ...next, status: 'retrying', ...(event.summary !== undefined ? { summary: event.summary } : {}) };
    case 'completed':
    case 'failed': {
      const { phase: _p, detail: _d, ...rest } = next;
      return {
        ...rest,
        status: event.type === 'completed' ? 'done' : 'failed',
        ...(event.summary !== undefined ? { summary: event.summary } : {}),
        ...(event.result !== undefined ? { result: event.result } : {}),
        finishedAt: event.at,
      };
    }
  }
}

/**
 * Records an event: updates the host's row of the command (so any bot or CLI can render it from Redis)
 * and appends it to the event stream that bots and CLIs follow.
 */
export async function publishEvent(redis: Redis, prefix: string, event: JobEvent): Promise<string> {
  const rowsKey = keys.commandRows(prefix, event.commandId);
  const raw = await redis.hget(rowsKey, event.host);
  const row = applyEvent(raw ? (JSON.parse(raw) as CommandRow) : undefined, event);
  const [, , added] = (await redis
    .multi()
    .hset(rowsKey, event.host, JSON.stringify(row))
    .expire(rowsKey, 14 * 86400)
    .xadd(keys.events(prefix), 'MAXLEN', '~', String(MAX_EVENTS), '*', 'e', JSON.stringify(event))
    .exec()) as [[Error | null, unknown], [Error | null, unknown], [Error | null, string]];
  return added[1];
}

/** The id to read from so that only events after "now" are seen. */
export async function latestEventId(redis: Redis, prefix: string): Promise<string> {
  const last = (await redis.xrevrange(keys.events(prefix), '+', '-', 'COUNT', 1)) as [string, string[]][];
  return last[0]?.[0] ?? '0-0';
}

/**
 * Reads events after `fromId`, blocking up to `blockMs`. Use a dedicated connection: XREAD BLOCK
 * holds it. Returns the events and the id to continue from.
 */
export async function readEvents(
  redis: Redis,
  prefix: string,
  fromId: string,
  blockMs: number,
): Promise<{ events: JobEvent[]; nextId: string }> {
  const reply = (await redis.xread('COUNT', 500, 'BLOCK', blockMs, 'STREAMS', keys.events(prefix), fromId)) as
    | [string, [string, string[]][]][]
    | null;
  const entries = reply?.[0]?.[1] ?? [];
  const events = entries.map(([, fields]) => JSON.parse(fields[1]!) as JobEvent);
  return { events, nextId: entries.length > 0 ? entries[entries.length - 1]![0] : fromId };
}
