import type { Redis } from 'ioredis';
import { keys } from './names.js';

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
}

const MAX_EVENTS = 100_000;

export async function publishEvent(redis: Redis, prefix: string, event: JobEvent): Promise<string> {
  const id = await redis.xadd(keys.events(prefix), 'MAXLEN', '~', String(MAX_EVENTS), '*', 'e', JSON.stringify(event));
  return id ?? '';
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
