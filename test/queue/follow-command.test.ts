import { afterAll, describe, expect, it } from 'vitest';
import { readRows, type CommandRow } from '../../src/queue/command-record.js';
import { markSilent } from '../../src/queue/follow-command.js';
import { keys } from '../../src/queue/names.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';

const { redisUrl, prefix } = testRedisSettings();
const redis = testRedis(redisUrl);
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

async function storeRows(commandId: string, rows: CommandRow[]): Promise<void> {
  await redis.hset(keys.commandRows(prefix, commandId), Object.fromEntries(rows.map((row) => [row.host, JSON.stringify(row)])));
}

describe('markSilent', () => {
  it('marks every host that has not finished as silent at the given time, and counts them', async () => {
    await storeRows('c-silent', [
      { host: 'ci-1', status: 'queued', queuedAt: 1 },
      { host: 'ci-2', status: 'running', queuedAt: 1, startedAt: 2, phase: 'pruning' },
      { host: 'ci-3', status: 'retrying', queuedAt: 1 },
      { host: 'ci-4', status: 'done', queuedAt: 1, finishedAt: 5, summary: 'ok' },
      { host: 'ci-5', status: 'failed', queuedAt: 1, finishedAt: 6, summary: 'no' },
    ]);
    expect(await markSilent(redis, prefix, 'c-silent', 9000)).toBe(3);
    const rows = new Map((await readRows(redis, prefix, 'c-silent')).map((row) => [row.host, row]));
    expect(rows.get('ci-1')).toEqual({ host: 'ci-1', status: 'silent', queuedAt: 1, finishedAt: 9000 });
    expect(rows.get('ci-2')).toMatchObject({ status: 'silent', finishedAt: 9000, phase: 'pruning' });
    expect(rows.get('ci-3')).toMatchObject({ status: 'silent' });
    expect(rows.get('ci-4')).toEqual({ host: 'ci-4', status: 'done', queuedAt: 1, finishedAt: 5, summary: 'ok' });
    expect(rows.get('ci-5')).toMatchObject({ status: 'failed', finishedAt: 6 });
  });

  it('marks nothing a second time, and nothing for a command without rows', async () => {
    await storeRows('c-twice', [{ host: 'ci-1', status: 'running', queuedAt: 1 }]);
    expect(await markSilent(redis, prefix, 'c-twice', 100)).toBe(1);
    expect(await markSilent(redis, prefix, 'c-twice', 200)).toBe(0);
    expect((await readRows(redis, prefix, 'c-twice'))[0]).toMatchObject({ status: 'silent', finishedAt: 100 });
    expect(await markSilent(redis, prefix, 'c-unknown', 100)).toBe(0);
  });
});
