import type { Redis } from 'ioredis';
import { keys } from './names.js';
import type { CommandRow } from './command-record.js';
import { signDocument, verifyDocumentInPool, SignatureError, type Signed } from './signed.js';
import type { KeyRing, Signer } from './signing-keys.js';
import { DEFAULT_RETENTION_SECONDS } from './retention.js';

/** What workers (and the control plane) tell bots about a job, signed by whoever ran it. */
export interface JobEvent {
  type: 'started' | 'progress' | 'completed' | 'failed' | 'retrying';
  commandId: string;
  host: string;
  job: string;
  at: number;
  /** The envelope the job ran under: a waiting control job only believes results of the envelope it issued. */
  envelopeId?: string;
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

/** The host's job-card row after an event. A finished row stays finished (a late or replayed event changes nothing). */
export function applyEvent(row: CommandRow | undefined, event: JobEvent): CommandRow {
  const base: CommandRow = row ?? { host: event.host, status: 'queued', queuedAt: event.at };
  if (base.status === 'done' || base.status === 'failed') return base;
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

/** Appends a signed event to the stream bots follow. Workers write nothing else about commands. */
export async function publishEvent(redis: Redis, prefix: string, signer: Signer, event: JobEvent): Promise<string> {
  return (await redis.xadd(keys.events(prefix), 'MAXLEN', '~', String(MAX_EVENTS), '*', 'e', JSON.stringify(signDocument(signer, 'event', event)))) as string;
}

/** Who may sign events about a host: the bot's own keys (control-plane jobs) or the host's enrolled key. */
export type EventSigners = (host: string, fresh?: boolean) => Promise<KeyRing>;

/** Verifies one stream entry's event (input from Redis); throws SignatureError with the reason. */
export async function verifyEvent(raw: string | undefined, signers: EventSigners): Promise<JobEvent> {
  let doc: Signed<JobEvent>;
  try {
    doc = JSON.parse(raw ?? '') as Signed<JobEvent>;
  } catch {
    throw new SignatureError('an event that is not JSON');
  }
  const host = doc?.body?.host;
  if (typeof host !== 'string' || typeof doc.body.commandId !== 'string' || typeof doc.body.type !== 'string')
    throw new SignatureError('an event without host, command or type');
  try {
    return (await verifyDocumentInPool<JobEvent>(doc, 'event', await signers(host))).body;
  } catch (err) {
    // Enrolled a moment ago, or enrolled again with new keys: look once more before refusing.
    if (!(err instanceof SignatureError) || !err.message.includes('unknown key')) throw err;
    return (await verifyDocumentInPool<JobEvent>(doc, 'event', await signers(host, true))).body;
  }
}

/** Compare-and-set of one row: written only if it still holds what the new row was computed from. */
const SET_ROW_IF = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return {0, current or ''} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {1, ''}
`;

type Pipeline = ReturnType<Redis['pipeline']>;
type RowPipeline = Pipeline & { setRowIf: (key: string, host: string, expected: string, next: string, ttl: string) => Pipeline };

/** A pipeline that can call the script above by its hash (EVALSHA; ioredis sends the script once per connection). */
function rowPipeline(redis: Redis): RowPipeline {
  if (!('setRowIf' in redis)) redis.defineCommand('setRowIf', { numberOfKeys: 1, lua: SET_ROW_IF });
  return redis.pipeline() as RowPipeline;
}

/** The events of one command's row, in stream order. */
interface RowEvents {
  key: string;
  commandId: string;
  host: string;
  events: JobEvent[];
}

function rowsOf(prefix: string, events: JobEvent[]): RowEvents[] {
  const rows = new Map<string, RowEvents>();
  for (const event of events) {
    const key = keys.commandRows(prefix, event.commandId);
    const name = `${key}\n${event.host}`;
    const row = rows.get(name) ?? { key, commandId: event.commandId, host: event.host, events: [] };
    row.events.push(event);
    rows.set(name, row);
  }
  return [...rows.values()];
}

/**
 * Applies verified events to their commands' rows (bots only; two replicas applying events of one
 * command never lose one: each row changes by compare-and-set) and tells waiting callers which
 * commands changed. Each row takes all of its events of the batch at once, in stream order, and the
 * rows of a batch are read and written in one round trip each. Returns the ids of the commands whose
 * rows changed.
 */
export async function applyEvents(redis: Redis, prefix: string, events: JobEvent[], retentionSeconds = DEFAULT_RETENTION_SECONDS): Promise<Set<string>> {
  const changed = new Set<string>();
  let todo = rowsOf(prefix, events);
  const reads = redis.pipeline();
  for (const row of todo) reads.hget(row.key, row.host);
  let raws = ((await reads.exec()) ?? []).map(([err, value]) => {
    if (err) throw err;
    return (value as string | null) ?? '';
  });
  for (let attempt = 0; attempt < 20 && todo.length > 0; attempt++) {
    const writes = rowPipeline(redis);
    const sent: RowEvents[] = [];
    todo.forEach((row, i) => {
      const raw = raws[i] ?? '';
      const before = raw ? (JSON.parse(raw) as CommandRow) : undefined;
      const after = JSON.stringify(row.events.reduce<CommandRow | undefined>((current, event) => applyEvent(current, event), before));
      if (after === raw) return;
      writes.setRowIf(row.key, row.host, raw, after, String(retentionSeconds));
      sent.push(row);
    });
    if (sent.length === 0) break;
    const replies = (await writes.exec()) ?? [];
    // A row another replica changed meanwhile is computed again from what it holds now.
    todo = [];
    raws = [];
    replies.forEach(([err, reply], i) => {
      if (err) throw err;
      const [written, current] = reply as [number, string];
      const row = sent[i] as RowEvents;
      if (written === 1) {
        changed.add(row.commandId);
      } else {
        todo.push(row);
        raws.push(current);
      }
    });
  }
  if (changed.size > 0) {
    const multi = redis.multi();
    for (const id of changed) multi.xadd(keys.rowChanges(prefix), 'MAXLEN', '~', '10000', '*', 'c', id);
    await multi.exec();
  }
  return changed;
}

/** The id to read from so that only entries after "now" are seen. */
export async function latestEventId(redis: Redis, prefix: string, stream: 'events' | 'rowChanges' = 'events'): Promise<string> {
  const last = (await redis.xrevrange(keys[stream](prefix), '+', '-', 'COUNT', 1)) as [string, string[]][];
  return last[0]?.[0] ?? '0-0';
}

/**
 * Reads raw stream entries after `fromId` on `stream`, blocking up to `blockMs`. Use a dedicated
 * connection: XREAD BLOCK holds it. Returns each entry's first field value and the id to continue from.
 */
export async function readStream(
  redis: Redis,
  prefix: string,
  stream: 'events' | 'rowChanges',
  fromId: string,
  blockMs: number,
): Promise<{ values: string[]; nextId: string }> {
  const reply = (await redis.xread('COUNT', 500, 'BLOCK', blockMs, 'STREAMS', keys[stream](prefix), fromId)) as [string, [string, string[]][]][] | null;
  const entries = reply?.[0]?.[1] ?? [];
  return { values: entries.map(([, fields]) => fields[1] ?? ''), nextId: entries.at(-1)?.[0] ?? fromId };
}
