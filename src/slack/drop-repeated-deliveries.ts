import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { Redis } from 'ioredis';
import { keys } from '../queue/names.js';

/** How long a request id is remembered: longer than Slack's retries and its replay window. */
const REMEMBER_SECONDS = 3600;
/** Slack's 3 s deadline comes first: when Redis is slow or down, a request counts as new. */
const WAIT_MS = 250;

/** What identifies one delivery from Slack: a command's or click's trigger id, an event's id. */
export function deliveryId(body: Record<string, unknown>): string | undefined {
  for (const field of ['trigger_id', 'event_id']) {
    const value = body[field];
    if (typeof value === 'string' && value !== '') return `${field}:${value}`;
  }
  return undefined;
}

/**
 * Global Bolt middleware, after Bolt verified the request: a delivery seen before (a replay, or Slack
 * retrying one we acked late) is acked and goes no further; every replica shares the memory in Redis.
 */
export function dropRepeatedDeliveries(redis: () => Redis | undefined, prefix: string): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const id = deliveryId(args.body as unknown as Record<string, unknown>);
    const client = redis();
    if (id && client) {
      const first = await Promise.race([
        client.set(keys.slackSeen(prefix, id), '1', 'EX', REMEMBER_SECONDS, 'NX').then((r) => r === 'OK'),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), WAIT_MS).unref()),
      ]).catch(() => true);
      if (!first) {
        const ack = (args as { ack?: () => Promise<void> }).ack;
        if (ack) await ack();
        return;
      }
    }
    await args.next();
  };
}
