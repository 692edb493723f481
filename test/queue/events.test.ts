import { afterAll, describe, expect, it } from 'vitest';
import { readRows, type CommandRow } from '../../src/queue/command-record.js';
import { applyEvent, applyEvents, type JobEvent } from '../../src/queue/events.js';
import { keys } from '../../src/queue/names.js';
import { createRedis } from '../../src/queue/redis.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';

const event = (type: JobEvent['type'], extra: Partial<JobEvent> = {}): JobEvent => ({
  type,
  commandId: 'c-1',
  host: 'ci-1',
  job: 'prune-docker',
  at: 1000,
  ...extra,
});
const queued: CommandRow = { host: 'ci-1', status: 'queued', queuedAt: 500 };

describe('applyEvent', () => {
  it('starts a row that did not exist yet as queued at the event time, then running', () => {
    expect(applyEvent(undefined, event('started', { at: 700 }))).toEqual({ host: 'ci-1', status: 'running', queuedAt: 700, startedAt: 700 });
  });

  it('keeps the first start time when a retried job starts again', () => {
    const running = applyEvent(queued, event('started', { at: 600 }));
    expect(applyEvent(applyEvent(running, event('retrying', { at: 700 })), event('started', { at: 900 })).startedAt).toBe(600);
  });

  it('shows the phase and detail of a progress event and keeps the phase when the next one has none', () => {
    const first = applyEvent(queued, event('progress', { phase: 'pruning images', detail: '3 of 9' }));
    expect(first).toMatchObject({ status: 'running', phase: 'pruning images', detail: '3 of 9' });
    expect(applyEvent(first, event('progress', { detail: '4 of 9' }))).toMatchObject({ phase: 'pruning images', detail: '4 of 9' });
  });

  it('marks a row retrying with the reason', () => {
    expect(applyEvent(queued, event('retrying', { summary: 'Docker Engine answered 409' }))).toMatchObject({
      status: 'retrying',
      summary: 'Docker Engine answered 409',
    });
  });

  it('finishes a row with its summary, result and end time, and drops the phase', () => {
    const running = applyEvent(queued, event('progress', { phase: 'pruning', detail: 'images' }));
    const done = applyEvent(running, event('completed', { at: 2000, summary: 'reclaimed 1 GiB', result: { bytes: 1 } }));
    expect(done).toEqual({ host: 'ci-1', status: 'done', queuedAt: 500, summary: 'reclaimed 1 GiB', result: { bytes: 1 }, finishedAt: 2000 });
    expect(applyEvent(running, event('failed', { summary: 'no such container' }))).toMatchObject({ status: 'failed', summary: 'no such container' });
  });

  it('leaves a finished row as it is when a late or replayed event arrives', () => {
    const done = applyEvent(queued, event('completed', { summary: 'ok' }));
    expect(applyEvent(done, event('started', { at: 5000 }))).toBe(done);
    const failed = applyEvent(queued, event('failed', { summary: 'no' }));
    expect(applyEvent(failed, event('completed', { summary: 'yes' }))).toBe(failed);
  });

  it('keeps the row running when a step of a control job ends, showing the step summary as detail', () => {
    const row = applyEvent(queued, event('completed', { step: true, summary: 'paused 2 runners' }));
    expect(row).toMatchObject({ status: 'running', detail: 'paused 2 runners' });
    expect(row.finishedAt).toBeUndefined();
  });
});

describe('applyEvents', () => {
  const { redisUrl, prefix } = testRedisSettings();
  const redis = testRedis(redisUrl);
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await redis.quit();
  });
  const at = (commandId: string, host: string, type: JobEvent['type'], time: number, extra: Partial<JobEvent> = {}) =>
    event(type, { commandId, host, at: time, ...extra });

  it('applies a batch in stream order per row: a row that starts, reports and finishes in one batch keeps its start time', async () => {
    const changed = await applyEvents(redis, prefix, [
      at('c-batch', 'ci-1', 'started', 10),
      at('c-batch', 'ci-2', 'started', 11),
      at('c-batch', 'ci-1', 'progress', 12, { phase: 'pulling' }),
      at('c-other', 'ci-1', 'started', 13),
      at('c-batch', 'ci-1', 'completed', 14, { summary: 'freed 1 GiB' }),
    ]);
    expect([...changed].sort()).toEqual(['c-batch', 'c-other']);
    expect(await readRows(redis, prefix, 'c-batch')).toEqual([
      { host: 'ci-1', status: 'done', queuedAt: 10, startedAt: 10, summary: 'freed 1 GiB', finishedAt: 14 },
      { host: 'ci-2', status: 'running', queuedAt: 11, startedAt: 11 },
    ]);
    const told = (await redis.xrange(keys.rowChanges(prefix), '-', '+')).map(([, fields]) => fields[1]);
    expect(told.sort()).toEqual(['c-batch', 'c-other']);
  });

  it('reports nothing for events that change no row: a replayed event on a finished row', async () => {
    await applyEvents(redis, prefix, [at('c-late', 'ci-1', 'completed', 20)]);
    const before = await readRows(redis, prefix, 'c-late');
    expect(await applyEvents(redis, prefix, [at('c-late', 'ci-1', 'started', 21), at('c-late', 'ci-1', 'failed', 22)])).toEqual(new Set());
    expect(await readRows(redis, prefix, 'c-late')).toEqual(before);
  });

  it('computes a row again from what it holds when another replica wrote it between the read and the write', async () => {
    const other = createRedis({ redisUrl });
    // This replica's read of the rows resolves only after the other replica has applied its event.
    let reads = 0;
    const racing = new Proxy(redis, {
      get(target, prop) {
        if (prop !== 'pipeline') {
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return () => {
          const pipeline = target.pipeline();
          if (reads++ === 0) {
            const exec = pipeline.exec.bind(pipeline);
            pipeline.exec = async () => {
              const replies = await exec();
              await applyEvents(other, prefix, [at('c-cas', 'ci-1', 'started', 40)]);
              return replies;
            };
          }
          return pipeline;
        };
      },
    });
    const changed = await applyEvents(racing, prefix, [at('c-cas', 'ci-1', 'progress', 41, { phase: 'pruning' })]);
    await other.quit();
    expect(changed).toEqual(new Set(['c-cas']));
    expect(await readRows(redis, prefix, 'c-cas')).toEqual([{ host: 'ci-1', status: 'running', queuedAt: 40, startedAt: 40, phase: 'pruning' }]);
  });

  it('loses no event when two replicas apply events of the same rows at once', async () => {
    const other = createRedis({ redisUrl });
    const commands = Array.from({ length: 40 }, (_, i) => `c-race-${i}`);
    // One replica sees each row start, the other sees its progress: both must show, whatever the interleaving.
    await Promise.all([
      applyEvents(
        redis,
        prefix,
        commands.map((id) => at(id, 'ci-1', 'started', 30)),
      ),
      applyEvents(
        other,
        prefix,
        commands.map((id) => at(id, 'ci-1', 'progress', 31, { phase: 'pruning' })),
      ),
    ]);
    await other.quit();
    for (const id of commands) {
      expect(await readRows(redis, prefix, id)).toEqual([{ host: 'ci-1', status: 'running', queuedAt: expect.any(Number), startedAt: 30, phase: 'pruning' }]);
    }
  });
});
