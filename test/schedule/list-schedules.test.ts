import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { scheduleSchema } from '../../src/policy/schema.js';
import { createRedis } from '../../src/queue/redis.js';
import { listSchedules } from '../../src/schedule/list-schedules.js';
import { lastRunKey } from '../../src/schedule/schedule-state.js';
import { startScheduler } from '../../src/schedule/start-scheduler.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';
import { defined } from '../helpers/defined.js';

const { redisUrl, prefix } = testRedisSettings();
const redis = testRedis(redisUrl);

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

const schedules = [
  scheduleSchema.parse({ name: 'nightly-prune', cron: '0 3 * * *', timezone: 'Europe/Berlin', command: 'prune all --dry-run', channel: 'C0REPORTS' }),
  scheduleSchema.parse({ name: 'weekly-store', cron: '0 8 * * 1', command: 'store all', channel: 'C0STORE', enabled: false }),
];

describe('listSchedules', () => {
  it('lists every schedule with cron, time zone, command, channel, next run and last run', async () => {
    const blocking = createRedis({ redisUrl }, { blocking: true });
    const scheduler = await startScheduler({
      redis,
      blocking,
      prefix,
      policy: { schedules },
      log: pino({ level: 'silent' }),
      runScheduled: async () => undefined,
    });
    await redis.set(lastRunKey(prefix, 'nightly-prune'), String(Date.now() - 3 * 3600_000));
    const text = await scheduler.listSchedules();
    await scheduler.stop();
    blocking.disconnect();
    const [header, nightly, weekly] = text.split('\n');
    expect(header).toMatch(/^NAME +CRON +TIMEZONE +COMMAND +CHANNEL +NEXT RUN +LAST RUN$/);
    expect(nightly).toMatch(
      /^nightly-prune +0 3 \* \* \* +Europe\/Berlin +prune all --dry-run +C0REPORTS +\d{4}-\d\d-\d\d 03:00 Europe\/Berlin \(in \d+[smhd]\) +\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? Europe\/Berlin \(3h ago\)$/,
    );
    expect(weekly).toMatch(/^weekly-store +0 8 \* \* 1 +UTC +store all +C0STORE +disabled +never$/);
  });

  it('computes the next run from the cron when no bot has scheduled it yet', async () => {
    const now = Date.UTC(2030, 0, 15, 10, 0, 0);
    const text = await listSchedules({
      redis,
      prefix: `${prefix}-unscheduled`,
      policy: { schedules: [{ ...defined(schedules[0], 'a schedule'), name: 'not-yet' }] },
      now,
    });
    expect(text.split('\n')[1]).toContain('2030-01-16 03:00 Europe/Berlin (in 16h), not yet scheduled');
  });

  it('says how to add schedules when the policy has none', async () => {
    expect(await listSchedules({ redis, prefix, policy: { schedules: [] } })).toBe(
      'no schedules: add them under "schedules:" in the policy file (name, cron, timezone, command, channel)',
    );
  });
});
