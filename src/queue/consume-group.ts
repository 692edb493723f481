import os from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/** One stream entry as XREADGROUP returns it: its id and its field/value list. */
export interface StreamEntry {
  id: string;
  fields: string[];
}

/** Thrown by `parse` for an entry that no retry will make readable: it is acknowledged and reported once. */
export class MalformedEntry extends Error {
  override name = 'MalformedEntry';
}

/** What a consumer has seen go wrong so far (for logs, /metrics and tests). */
export interface ConsumerCounts {
  /** Entries acknowledged without handling because `parse` threw MalformedEntry. */
  malformed: number;
  /** Rejections of `parse` (other than MalformedEntry) or `handle`; their entries were read again. */
  handlerFailures: number;
  /** Entries acknowledged without handling after `maxAttempts` failures. */
  dropped: number;
  /** Failed reads, acknowledgements and `afterRead` calls (Redis down, group deleted). */
  readFailures: number;
}

export interface ConsumeGroupOptions<T> {
  redis: Redis;
  /** A dedicated connection for XREADGROUP BLOCK; stop() disconnects it. */
  blocking: Redis;
  stream: string;
  /** Consumer group; consumers sharing it split the entries between them. */
  group: string;
  /** Where a group created here starts: `$` (entries added from now on) or `0` (the whole stream). */
  startAt: '$' | '0';
  /** What the stream carries, for log lines ("job events"). */
  what: string;
  log: Logger;
  /** Turns an entry into a message. Throws MalformedEntry for an entry that will never be readable. */
  parse: (entry: StreamEntry) => Promise<T>;
  /** Handles the messages of one read; their entries are acknowledged once it resolves. */
  handle: (messages: T[]) => Promise<void>;
  /** Told once about each malformed entry, after it was acknowledged. */
  onMalformed: (entry: StreamEntry, reason: string) => Promise<void> | void;
  /** Runs after every read, entries or not (periodic work such as deadlines). @defaultValue none */
  afterRead?: () => Promise<void>;
  /** Entries per read. @defaultValue 100 */
  count?: number;
  /** Entries another consumer left unacknowledged this long are taken over. @defaultValue 60000 */
  claimIdleMs?: number;
  /** Failed handlings of one entry before it is acknowledged and dropped (logged). @defaultValue 5 */
  maxAttempts?: number;
  /** Longest pause after a failure; pauses double from 1 s. @defaultValue 30000 */
  maxBackoffMs?: number;
  /** How long a read blocks for new entries. @defaultValue 1000 */
  blockMs?: number;
}

export interface GroupConsumer {
  /** Ends the loop and resolves once it has ended (a handling under way finishes first). */
  stop: () => Promise<void>;
  readonly counts: Readonly<ConsumerCounts>;
}

type Reply = [string, [string, string[] | null][]][] | null;

function entriesOf(list: [string, string[] | null][] | undefined): StreamEntry[] {
  // XAUTOCLAIM and a read of the pending list give entries deleted from the stream meanwhile with no fields.
  return (list ?? []).filter((entry): entry is [string, string[]] => Array.isArray(entry?.[1])).map(([id, fields]) => ({ id, fields }));
}

/**
 * Reads a Redis stream as one consumer of a consumer group: the one loop for every stream the bot
 * follows. Each entry reaches one consumer; entries a dead consumer never acknowledged are claimed by a
 * live one after `claimIdleMs`. A malformed entry is acknowledged and reported once. A failed handling
 * is logged and counted, and its entries are read again from this consumer's pending list after a
 * pause (up to `maxAttempts` times, then dropped with a log line), so a Redis outage loses nothing and
 * one poisonous entry does not stop the stream. Nothing the loop does can reject unobserved.
 */
export function consumeGroup<T>(options: ConsumeGroupOptions<T>): GroupConsumer {
  const { redis, blocking, stream, group, log } = options;
  const consumer = `${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const count = options.count ?? 100;
  const claimIdleMs = options.claimIdleMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 5;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const counts: ConsumerCounts = { malformed: 0, handlerFailures: 0, dropped: 0, readFailures: 0 };
  const attempts = new Map<string, number>();
  const stopping = new AbortController();
  let stopped = false;
  // After a failed handling, read this consumer's pending entries (id 0) before new ones (id >).
  let backlog = false;
  let failuresInARow = 0;

  // A pause that stop() cuts short; its abort listener goes when the pause ends, so none pile up.
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stopping.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      stopping.signal.addEventListener('abort', done, { once: true });
    });
  const backoff = () => pause(Math.min(maxBackoffMs, 1000 * 2 ** Math.min(failuresInARow++, 15)));

  const createGroup = async () => {
    try {
      await redis.xgroup('CREATE', stream, group, options.startAt, 'MKSTREAM');
    } catch (err) {
      if (!String(err).includes('BUSYGROUP')) throw err;
    }
  };

  const ack = async (ids: string[]) => {
    if (ids.length > 0) await redis.xack(stream, group, ...ids);
    for (const id of ids) attempts.delete(id);
  };

  const reportMalformed = async (entry: StreamEntry, reason: string) => {
    counts.malformed++;
    try {
      await options.onMalformed(entry, reason);
    } catch (err) {
      log.warn({ err, id: entry.id }, `could not report a malformed entry of ${options.what}`);
    }
  };

  /** Parses and handles one read's entries; false when they stay pending to be read again. */
  const handleEntries = async (entries: StreamEntry[]): Promise<boolean> => {
    const messages: T[] = [];
    const handled: StreamEntry[] = [];
    const malformed: Array<{ entry: StreamEntry; reason: string }> = [];
    try {
      // Parsed side by side (a parse may wait on the thread pool or Redis), kept in stream order.
      const parsed = await Promise.allSettled(entries.map((entry) => options.parse(entry)));
      parsed.forEach((result, i) => {
        const entry = entries[i] as StreamEntry;
        if (result.status === 'fulfilled') {
          messages.push(result.value);
          handled.push(entry);
        } else if (result.reason instanceof MalformedEntry) {
          malformed.push({ entry, reason: result.reason.message });
        } else {
          throw result.reason;
        }
      });
      if (messages.length > 0) await options.handle(messages);
    } catch (err) {
      counts.handlerFailures++;
      const spent = entries.filter((entry) => {
        const tries = (attempts.get(entry.id) ?? 0) + 1;
        attempts.set(entry.id, tries);
        return tries >= maxAttempts;
      });
      log.warn({ err, entries: entries.length }, `handling ${options.what} failed; reading them again`);
      if (spent.length > 0) {
        counts.dropped += spent.length;
        log.error({ ids: spent.map((entry) => entry.id), attempts: maxAttempts }, `dropped ${options.what} that failed every attempt`);
        await ack(spent.map((entry) => entry.id));
      }
      return spent.length === entries.length;
    }
    await ack([...handled, ...malformed.map(({ entry }) => entry)].map((entry) => entry.id));
    for (const { entry, reason } of malformed) await reportMalformed(entry, reason);
    return true;
  };

  const read = async (id: '0' | '>'): Promise<StreamEntry[]> => {
    // The pending list (id 0) answers at once; new entries (id >) are waited for.
    const reply = (
      id === '>'
        ? await blocking.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'BLOCK', options.blockMs ?? 1000, 'STREAMS', stream, id)
        : await blocking.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, id)
    ) as Reply;
    return entriesOf(reply?.[0]?.[1]);
  };

  const loop = async () => {
    let groupReady = false;
    let lastClaim = 0;
    while (!stopped) {
      try {
        if (!groupReady) {
          await createGroup();
          groupReady = true;
        }
        let ok = true;
        if (Date.now() - lastClaim > Math.min(claimIdleMs, 30_000)) {
          lastClaim = Date.now();
          const claimed = (await redis.xautoclaim(stream, group, consumer, claimIdleMs, '0-0', 'COUNT', count)) as [string, [string, string[] | null][]];
          const entries = entriesOf(claimed[1]);
          if (entries.length > 0) ok = await handleEntries(entries);
        }
        if (ok) {
          const entries = await read(backlog ? '0' : '>');
          // A pending list read empty: everything this consumer held is handled; back to new entries.
          if (backlog && entries.length === 0) backlog = false;
          if (entries.length > 0) ok = await handleEntries(entries);
        }
        if (options.afterRead) await options.afterRead();
        if (ok) {
          failuresInARow = 0;
        } else {
          backlog = true;
          await backoff();
        }
      } catch (err) {
        if (stopped) break;
        counts.readFailures++;
        if (String(err).includes('NOGROUP')) {
          groupReady = false;
          continue;
        }
        log.warn({ err }, `reading ${options.what} failed; retrying`);
        await backoff();
      }
    }
  };

  const running = loop().catch((err: unknown) => log.error({ err }, `following ${options.what} stopped`));
  return {
    counts,
    stop: async () => {
      stopped = true;
      stopping.abort();
      blocking.disconnect();
      await running;
    },
  };
}
