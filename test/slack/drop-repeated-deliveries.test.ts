import type { AnyMiddlewareArgs } from '@slack/bolt';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/queue/redis.js';
import { deliveryId, dropRepeatedDeliveries, isFirstDelivery } from '../../src/slack/drop-repeated-deliveries.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';

const { redisUrl, prefix } = testRedisSettings();
const redis = testRedis(redisUrl);
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('deliveryId', () => {
  it('names a delivery by its trigger id, else its event id', () => {
    expect(deliveryId({ trigger_id: '123.456', event_id: 'Ev1' })).toBe('trigger_id:123.456');
    expect(deliveryId({ event_id: 'Ev1' })).toBe('event_id:Ev1');
    expect(deliveryId({ trigger_id: '' })).toBeUndefined();
  });
});

describe('isFirstDelivery', () => {
  it('says yes once per delivery across replicas, then no', async () => {
    const other = createRedis({ redisUrl });
    try {
      const body = { event_id: `Ev-${Math.random()}` };
      expect(await isFirstDelivery(redis, prefix, body)).toBe(true);
      expect(await isFirstDelivery(other, prefix, body)).toBe(false);
    } finally {
      await other.quit();
    }
  });

  it('counts a delivery as new when it has no id or there is no Redis', async () => {
    expect(await isFirstDelivery(redis, prefix, {})).toBe(true);
    expect(await isFirstDelivery(undefined, prefix, { event_id: 'Ev-any' })).toBe(true);
  });

  it('counts a delivery as new when Redis fails', async () => {
    const closed = createRedis({ redisUrl });
    await closed.quit();
    expect(await isFirstDelivery(closed, prefix, { event_id: 'Ev-closed' })).toBe(true);
  });
});

describe('dropRepeatedDeliveries', () => {
  /** Runs the middleware once with `body`; says whether it acked and whether it went on. */
  async function deliver(body: Record<string, unknown>): Promise<{ acked: boolean; next: boolean }> {
    const seen = { acked: false, next: false };
    const middleware = dropRepeatedDeliveries(() => redis, prefix);
    const args = {
      body,
      ack: async () => void (seen.acked = true),
      next: async () => void (seen.next = true),
    } as unknown as AnyMiddlewareArgs & { next: () => Promise<void> };
    await middleware(args as Parameters<typeof middleware>[0]);
    return seen;
  }

  it('passes a first delivery on and acks a repeated one without passing it on', async () => {
    const body = { type: 'block_actions', trigger_id: `t-${Math.random()}` };
    expect(await deliver(body)).toEqual({ acked: false, next: true });
    expect(await deliver(body)).toEqual({ acked: true, next: false });
  });

  it('always passes a slash command on: its handler acks first and checks after', async () => {
    const body = { command: '/runner', trigger_id: `t-${Math.random()}` };
    expect(await deliver(body)).toEqual({ acked: false, next: true });
    expect(await deliver(body)).toEqual({ acked: false, next: true });
  });
});
