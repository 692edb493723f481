import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { consumeGroup, MalformedEntry, type ConsumeGroupOptions, type StreamEntry } from '../../src/queue/consume-group.js';
import { createRedis } from '../../src/queue/redis.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';

const log = pino({ level: 'silent' });
const { redisUrl } = testRedisSettings();
const redis = testRedis(redisUrl);
const prefixes: string[] = [];

afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(redis, prefix);
  await redis.quit();
});

/** A fresh stream under a random prefix; entries carry `data <text>`. */
function freshStream(): string {
  const { prefix } = testRedisSettings();
  prefixes.push(prefix);
  return `${prefix}:test-stream`;
}

/** A promise and the function that settles it: a barrier a test waits on instead of a duration. */
function barrier<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

function consume(stream: string, overrides: Partial<ConsumeGroupOptions<string>>) {
  return consumeGroup<string>({
    redis,
    blocking: createRedis({ redisUrl }, { blocking: true }),
    stream,
    group: 'bots',
    startAt: '0',
    what: 'test entries',
    log,
    maxBackoffMs: 10,
    blockMs: 100,
    parse: async (entry: StreamEntry) => {
      if (entry.fields[1] === undefined || entry.fields[1].startsWith('{')) throw new MalformedEntry(`not text: ${entry.fields[1]}`);
      return entry.fields[1];
    },
    handle: async () => undefined,
    onMalformed: () => undefined,
    ...overrides,
  });
}

async function pendingCount(stream: string): Promise<number> {
  const summary = (await redis.xpending(stream, 'bots')) as [number, ...unknown[]];
  return summary[0];
}

describe('consumeGroup', () => {
  it('hands every entry to the handler and acknowledges it', async () => {
    const stream = freshStream();
    const seen: string[] = [];
    const all = barrier();
    await redis.xadd(stream, '*', 'data', 'one');
    const consumer = consume(stream, {
      handle: async (texts) => {
        seen.push(...texts);
        if (seen.length === 3) all.open();
      },
    });
    await redis.xadd(stream, '*', 'data', 'two');
    await redis.xadd(stream, '*', 'data', 'three');
    await all.promise;
    await consumer.stop();
    expect(seen).toEqual(['one', 'two', 'three']);
    expect(await pendingCount(stream)).toBe(0);
  });

  it("hands one read's entries over in stream order even when their parsing finishes in another order", async () => {
    const stream = freshStream();
    for (const text of ['one', 'two', 'three']) await redis.xadd(stream, '*', 'data', text);
    const handled = barrier<string[]>();
    const parsedLast = barrier<string>();
    const consumer = consume(stream, {
      // The first entry's parse waits until the last one has been parsed: the reads overlap, the order holds.
      parse: async (entry) => {
        const text = entry.fields[1] ?? '';
        if (text === 'one') return `${await parsedLast.promise}>one`;
        if (text === 'three') parsedLast.open('three');
        return text;
      },
      handle: async (texts) => handled.open(texts),
    });
    expect(await handled.promise).toEqual(['three>one', 'two', 'three']);
    await consumer.stop();
  });

  it('acknowledges a malformed entry and reports it once, then goes on with the next', async () => {
    const stream = freshStream();
    const reported: string[] = [];
    const next = barrier<string[]>();
    await redis.xadd(stream, '*', 'data', '{broken');
    await redis.xadd(stream, '*', 'data', 'after');
    const consumer = consume(stream, {
      handle: async (texts) => next.open(texts),
      onMalformed: (_entry, reason) => void reported.push(reason),
    });
    expect(await next.promise).toEqual(['after']);
    await consumer.stop();
    expect(reported).toEqual(['not text: {broken']);
    expect(consumer.counts.malformed).toBe(1);
    expect(await pendingCount(stream)).toBe(0);
  });

  it('catches and counts a rejected handling, then reads the same entries again', async () => {
    const stream = freshStream();
    const calls: string[][] = [];
    const handled = barrier();
    await redis.xadd(stream, '*', 'data', 'flaky');
    const consumer = consume(stream, {
      handle: async (texts) => {
        calls.push(texts);
        if (calls.length === 1) throw new Error('Connection is closed.');
        handled.open();
      },
    });
    await handled.promise;
    await consumer.stop();
    expect(calls).toEqual([['flaky'], ['flaky']]);
    expect(consumer.counts.handlerFailures).toBe(1);
    expect(await pendingCount(stream)).toBe(0);
  });

  it('drops an entry whose handling fails every attempt, and handles the entries after it', async () => {
    const stream = freshStream();
    const later = barrier<string[]>();
    await redis.xadd(stream, '*', 'data', 'poison');
    const consumer = consume(stream, {
      maxAttempts: 3,
      count: 1,
      handle: async (texts) => {
        if (texts.includes('poison')) throw new TypeError('cannot read this one');
        later.open(texts);
      },
    });
    await redis.xadd(stream, '*', 'data', 'healthy');
    expect(await later.promise).toEqual(['healthy']);
    await consumer.stop();
    expect(consumer.counts).toMatchObject({ handlerFailures: 3, dropped: 1 });
    expect(await pendingCount(stream)).toBe(0);
  });

  it('gives each entry to one of two consumers sharing the group', async () => {
    const stream = freshStream();
    const seen: string[] = [];
    const all = barrier();
    const handle = async (texts: string[]) => {
      seen.push(...texts);
      if (seen.length === 20) all.open();
    };
    const a = consume(stream, { handle });
    const b = consume(stream, { handle });
    for (let i = 0; i < 20; i++) await redis.xadd(stream, '*', 'data', `entry-${i}`);
    await all.promise;
    await Promise.all([a.stop(), b.stop()]);
    expect([...seen].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `entry-${i}`).sort());
  });

  it('takes over entries another consumer read but never acknowledged', async () => {
    const stream = freshStream();
    await redis.xgroup('CREATE', stream, 'bots', '0', 'MKSTREAM');
    await redis.xadd(stream, '*', 'data', 'orphan');
    // A consumer that died after reading: the entry stays pending under its name.
    await redis.xreadgroup('GROUP', 'bots', 'dead-replica', 'COUNT', 10, 'STREAMS', stream, '>');
    const taken = barrier<string[]>();
    const consumer = consume(stream, { claimIdleMs: 0, handle: async (texts) => taken.open(texts) });
    expect(await taken.promise).toEqual(['orphan']);
    await consumer.stop();
    expect(await pendingCount(stream)).toBe(0);
  });

  it('stops only after the handling under way has finished', async () => {
    const stream = freshStream();
    const entered = barrier();
    const release = barrier();
    const order: string[] = [];
    await redis.xadd(stream, '*', 'data', 'slow');
    const blocking = createRedis({ redisUrl }, { blocking: true });
    const closed = new Promise<void>((resolve) => blocking.once('end', () => resolve()));
    const consumer = consume(stream, {
      blocking,
      handle: async () => {
        entered.open();
        await release.promise;
        order.push('handled');
      },
    });
    await entered.promise;
    const stopped = consumer.stop().then(() => order.push('stopped'));
    await closed;
    release.open();
    await stopped;
    expect(order).toEqual(['handled', 'stopped']);
  });
});
