import { readFile, rename, writeFile, open } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { keys } from '../queue/names.js';
import { SignatureError } from '../queue/signed.js';
import { CLOCK_SKEW_MS } from '../queue/envelope.js';

/**
 * Remembers which envelopes ran to an end, until they expire: a copy of a signed job put on the queue
 * again is refused. An envelope that started but did not end (the worker died, a transient failure)
 * may run again: that is BullMQ's retry, and the jobs themselves are safe to rerun.
 */
export interface ReplayGuard {
  /** Throws SignatureError when the envelope already ran to an end. */
  begin: (id: string, expiresAt: number) => Promise<void>;
  /** Records the envelope as finished (completed, or failed for good). */
  finish: (id: string, expiresAt: number) => Promise<void>;
}

const replayed = (id: string) => new SignatureError(`replayed job (envelope ${id} already ran)`);

/**
 * A worker's guard, in a file of its own state directory (not in Redis, which anyone holding a Redis
 * credential could empty). Writes are atomic (temp file, fsync, rename) and expired ids are dropped.
 */
export async function createFileReplayGuard(file: string, now: () => number = Date.now): Promise<ReplayGuard> {
  const done = new Map<string, number>();
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    for (const [id, expiresAt] of Object.entries(saved)) if (typeof expiresAt === 'number') done.set(id, expiresAt);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
  }
  let writing: Promise<void> = Promise.resolve();
  const save = async () => {
    const at = now();
    for (const [id, expiresAt] of done) if (expiresAt + CLOCK_SKEW_MS < at) done.delete(id);
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(Object.fromEntries(done)), { mode: 0o600 });
    const handle = await open(temp, 'r');
    await handle.sync().finally(() => handle.close());
    await rename(temp, file);
  };
  return {
    begin: async (id) => {
      if (done.has(id)) throw replayed(id);
    },
    finish: async (id, expiresAt) => {
      done.set(id, expiresAt);
      writing = writing.catch(() => undefined).then(save);
      await writing;
    },
  };
}

/** The control plane's guard: in Redis under a key only bots may write (see the ACLs in redis-acl.ts). */
export function createRedisReplayGuard(redis: Redis, prefix: string): ReplayGuard {
  return {
    begin: async (id) => {
      if ((await redis.exists(keys.envelopeDone(prefix, id))) === 1) throw replayed(id);
    },
    finish: async (id, expiresAt) => {
      const seconds = Math.max(1, Math.ceil((expiresAt + CLOCK_SKEW_MS - Date.now()) / 1000));
      await redis.set(keys.envelopeDone(prefix, id), '1', 'EX', seconds);
    },
  };
}
