import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { markSilent } from './follow-command.js';
import { applyEvents, verifyEvent, type EventSigners, type JobEvent } from './events.js';
import { consumeGroup, MalformedEntry, type ConsumerCounts } from './consume-group.js';
import { keys } from './names.js';
import { SignatureError } from './signed.js';

export interface CommandWatcherOptions {
  redis: Redis;
  /** A dedicated connection for XREADGROUP BLOCK. */
  blocking: Redis;
  prefix: string;
  log: Logger;
  /** Called at most once per `minIntervalMs` per command with the events since the last call. */
  onChange: (commandId: string, events: JobEvent[]) => Promise<void>;
  /** @defaultValue 1000 (Slack allows about one chat.update per message per second) */
  minIntervalMs?: number;
  /** Consumer group name; replicas sharing it split the events between them. @defaultValue `bots` */
  group?: string;
  /** Seconds a finished command's rows stay (RUNNEROPS_RETENTION). @defaultValue 14 days */
  retentionSeconds?: number;
  /** Who may sign events about a host (its enrolled key, or a bot key for control-plane jobs). */
  signers: EventSigners;
  /** An event that did not verify: never applied to a row. */
  onRefused: (reason: string) => Promise<void>;
  /** How long stop() spends on card updates still waiting. @defaultValue 5000 */
  stopFlushMs?: number;
  /** Told, in this process, which commands' rows this replica just changed. */
  onApplied?: (commandIds: Set<string>) => void;
}

const deadlinesKey = keys.deadlines;

/** Registers when a command's hosts count as silent if they have not answered. */
export async function setDeadline(redis: Redis, prefix: string, commandId: string, at: number): Promise<void> {
  await redis.zadd(deadlinesKey(prefix), at, commandId);
}

/**
 * Follows the event stream as a member of a consumer group (each event reaches one bot replica, and
 * events a dead replica never acknowledged are claimed by a live one), verifies each event's signature,
 * applies the verified ones to their commands' rows (rows are written here only), batches card updates
 * per command, and marks hosts silent when a command's deadline passes.
 */
export function startCommandWatcher(options: CommandWatcherOptions): { stop: () => Promise<void>; counts: Readonly<ConsumerCounts> } {
  const { redis, blocking, prefix, log } = options;
  const group = options.group ?? 'bots';
  const minInterval = options.minIntervalMs ?? 1000;
  const pending = new Map<string, JobEvent[]>();
  const timers = new Map<string, NodeJS.Timeout>();
  const lastRun = new Map<string, number>();
  const failures = new Map<string, number>();
  let stopped = false;

  const flush = async (commandId: string) => {
    timers.delete(commandId);
    const events = pending.get(commandId) ?? [];
    pending.delete(commandId);
    lastRun.set(commandId, Date.now());
    try {
      await options.onChange(commandId, events);
      failures.delete(commandId);
    } catch (err) {
      // Redis or Slack down: try again later, so a card never stays short of its final state.
      const tries = (failures.get(commandId) ?? 0) + 1;
      failures.set(commandId, tries);
      log.warn({ err, commandId, tries }, 'could not update the job card; will try again');
      if (!stopped && tries < 120) {
        lastRun.set(commandId, Date.now() + Math.min(30_000, tries * 1000) - minInterval);
        schedule(commandId);
      }
    }
  };

  const schedule = (commandId: string, event?: JobEvent) => {
    const list = pending.get(commandId) ?? [];
    if (event) list.push(event);
    pending.set(commandId, list);
    if (timers.has(commandId)) return;
    const wait = Math.max(0, (lastRun.get(commandId) ?? 0) + minInterval - Date.now());
    timers.set(
      commandId,
      setTimeout(() => void flush(commandId), wait),
    );
  };

  const consumer = consumeGroup<JobEvent>({
    redis,
    blocking,
    stream: keys.events(prefix),
    group,
    startAt: '$',
    what: 'job events',
    log,
    count: 500,
    parse: async (entry) => {
      try {
        return await verifyEvent(entry.fields[1], options.signers);
      } catch (err) {
        if (err instanceof SignatureError) throw new MalformedEntry(`ignored an event on the job stream: ${err.message}`);
        throw err;
      }
    },
    handle: async (verified) => {
      const changed = await applyEvents(redis, prefix, verified, options.retentionSeconds);
      if (changed.size > 0) options.onApplied?.(changed);
      for (const event of verified) schedule(event.commandId, event);
    },
    onMalformed: (_entry, reason) => options.onRefused(reason),
    afterRead: async () => {
      for (const commandId of await redis.zrangebyscore(deadlinesKey(prefix), 0, Date.now(), 'LIMIT', 0, 100)) {
        // ZREM decides which replica handles an overdue command.
        if ((await redis.zrem(deadlinesKey(prefix), commandId)) === 1) {
          if ((await markSilent(redis, prefix, commandId)) > 0) schedule(commandId);
        }
      }
    },
  });
  return {
    counts: consumer.counts,
    stop: async () => {
      stopped = true;
      await consumer.stop();
      // Pending card updates get a few seconds (they wait for paced chat.update slots), not a stop of minutes.
      const deadline = Date.now() + (options.stopFlushMs ?? 5000);
      const waiting = [...timers.keys()];
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      let left = waiting.length;
      for (const commandId of waiting) {
        const time = deadline - Date.now();
        if (time <= 0) break;
        await Promise.race([flush(commandId), new Promise((resolve) => setTimeout(resolve, time).unref())]);
        left--;
      }
      if (left > 0) log.warn({ left }, 'stopped with card updates still waiting for a Slack slot; their rows in Redis are final');
    },
  };
}
