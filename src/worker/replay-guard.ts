import { readFile, rename, writeFile, open } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { keys } from '../queue/names.js';
import { CLOCK_SKEW_MS } from '../queue/envelope.js';

/** How an envelope ended, kept so a job handed back after that can repeat its answer instead of running again. */
export interface RecordedOutcome {
  type: 'completed' | 'failed';
  summary: string;
  result?: unknown;
}

/**
 * Remembers which envelopes ran to an end, and how, until they expire: a copy of a signed job put on
 * the queue again never runs again. An envelope that started but did not end (the worker died, a
 * transient failure) may run again: that is BullMQ's retry, and the jobs themselves are safe to rerun.
 */
export interface ReplayGuard {
  /** The recorded outcome when the envelope already ran to an end; undefined when it may run. */
  begin: (id: string, expiresAt: number) => Promise<RecordedOutcome | undefined>;
  /** Records the envelope as finished (completed, or failed for good), with its outcome. */
  finish: (id: string, expiresAt: number, outcome: RecordedOutcome) => Promise<void>;
}

interface Record_ {
  expiresAt: number;
  outcome: RecordedOutcome;
}

/**
 * A worker's guard, in a file of its own state directory (not in Redis, which anyone holding a Redis
 * credential could empty). Writes are atomic (temp file, fsync, rename) and expired ids are dropped.
 */
export async function createFileReplayGuard(file: string, now: () => number = Date.now): Promise<ReplayGuard> {
  const done = new Map<string, Record_>();
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, Partial<Record_>>;
    for (const [id, entry] of Object.entries(saved)) {
      if (typeof entry?.expiresAt === 'number' && entry.outcome) done.set(id, { expiresAt: entry.expiresAt, outcome: entry.outcome });
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
  }
  let writing: Promise<void> = Promise.resolve();
  const save = async () => {
    const at = now();
    for (const [id, entry] of done) if (entry.expiresAt + CLOCK_SKEW_MS < at) done.delete(id);
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(Object.fromEntries(done)), { mode: 0o600 });
    const handle = await open(temp, 'r');
    await handle.sync().finally(() => handle.close());
    await rename(temp, file);
  };
  return {
    begin: async (id) => done.get(id)?.outcome,
    finish: async (id, expiresAt, outcome) => {
      done.set(id, { expiresAt, outcome });
      writing = writing.catch(() => undefined).then(save);
      await writing;
    },
  };
}

/** The control plane's guard: in Redis under a key only bots may write (see the ACLs in redis-acl.ts). */
export function createRedisReplayGuard(redis: Redis, prefix: string): ReplayGuard {
  return {
    begin: async (id) => {
      const raw = await redis.get(keys.envelopeDone(prefix, id));
      if (raw === null) return undefined;
      try {
        return (JSON.parse(raw) as { outcome?: RecordedOutcome }).outcome ?? { type: 'failed', summary: 'already ran' };
      } catch {
        return { type: 'failed', summary: 'already ran' };
      }
    },
    finish: async (id, expiresAt, outcome) => {
      const seconds = Math.max(1, Math.ceil((expiresAt + CLOCK_SKEW_MS - Date.now()) / 1000));
      await redis.set(keys.envelopeDone(prefix, id), JSON.stringify({ outcome }), 'EX', seconds);
    },
  };
}
