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
 * Whether this is the first time any replica sees the delivery (remembered in Redis). When Redis is
 * slow or down it counts as new: Slack's 3 s deadline comes first.
 */
export async function isFirstDelivery(client: Redis | undefined, prefix: string, body: Record<string, unknown>): Promise<boolean> {
  const id = deliveryId(body);
  if (!id || !client) return true;
  return Promise.race([
    client.set(keys.slackSeen(prefix, id), '1', 'EX', REMEMBER_SECONDS, 'NX').then((r) => r === 'OK'),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), WAIT_MS).unref()),
  ]).catch(() => true);
}

/** A slash command: its handler acks before it asks Redis whether the delivery is new (isFirstDelivery). */
function isSlashCommand(body: Record<string, unknown>): boolean {
  return typeof body.command === 'string' && typeof body.trigger_id === 'string';
}

/**
 * Global Bolt middleware, after Bolt verified the request: a delivery seen before (a replay, or Slack
 * retrying one we acked late) is acked and goes no further; every replica shares the memory in Redis.
 * Slash commands pass: their handler acks first and checks after, so no Redis round trip delays the ack.
 */
export function dropRepeatedDeliveries(redis: () => Redis | undefined, prefix: string): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const body = args.body as unknown as Record<string, unknown>;
    if (!isSlashCommand(body) && !(await isFirstDelivery(redis(), prefix, body))) {
      const ack = (args as { ack?: () => Promise<void> }).ack;
      if (ack) await ack();
      return;
    }
    await args.next();
  };
}
