import type { Redis } from 'ioredis';
import { keys } from '../queue/names.js';

/**
 * Slack's rate-limit tiers (per app, per workspace, per method): calls per minute, bursts allowed.
 * https://api.slack.com/apis/rate-limits
 */
export const TIER_PER_MINUTE = { 1: 1, 2: 20, 3: 50, 4: 100 } as const;
export type Tier = keyof typeof TIER_PER_MINUTE;

/**
 * The methods the bot calls in bursts it controls: card and approval updates, Home tabs. Replies go
 * through response_url (no tier), so a burst of commands is not slowed by its own answers.
 */
export const METHOD_TIERS: Record<string, Tier> = {
  'chat.update': 3,
  'views.publish': 4,
  'views.update': 4,
};

/**
 * GCRA over Redis: reserves the next slot for a method and answers how long to wait for it. The slot
 * spacing leaves room for a burst, so no 60-second window ever holds more than the tier's calls; a 429's
 * Retry-After blocks the method for every replica until it has passed. Time is Redis's own clock.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
local base = math.max(tat, now, blocked)
local newTat = base + interval
local allowAt = math.max(now, blocked, newTat - burst * interval)
redis.call('SET', KEYS[1], newTat, 'PX', math.max(1000, newTat - now + 1000))
return allowAt - now
`;

const BLOCK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
local untilMs = now + ms
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > current then redis.call('SET', KEYS[1], untilMs, 'PX', ms + 1000) end
return untilMs
`;

export interface Pacer {
  /** Waits until this process may make one call of `method` (immediately for methods without a tier). */
  wait(method: string): Promise<void>;
  /** A 429 said "retry after `seconds`": no replica calls `method` before then. */
  block(method: string, seconds: number): Promise<void>;
  /** The bot stops: calls still waiting for a slot, and any later ones, fail at once instead of holding it open. */
  close(): void;
}

export interface PacerOptions {
  redis: Redis;
  prefix: string;
  /** Calls allowed at once before spacing starts, as a share of the tier's per-minute count. @defaultValue 0.2 */
  burstShare?: number;
  /** Tier per method. @defaultValue METHOD_TIERS */
  tiers?: Record<string, Tier>;
  /** The window a tier's count applies to (tests shrink it). @defaultValue 60000 */
  windowMs?: number;
}

/** The share of each tier's limit this app uses per workspace, shared by every bot replica through Redis. */
export function createPacer(options: PacerOptions): Pacer {
  const tiers = options.tiers ?? METHOD_TIERS;
  const keyOf = (method: string) => keys.slackPace(options.prefix, method);
  const waiting = new Set<() => void>();
  let closed = false;
  const stopped = (method: string) => new Error(`the bot stopped before a ${method} slot was free`);
  const sleep = (method: string, delay: number) =>
    new Promise<void>((resolve, reject) => {
      const cancel = () => {
        clearTimeout(timer);
        waiting.delete(cancel);
        reject(stopped(method));
      };
      const timer = setTimeout(() => {
        waiting.delete(cancel);
        resolve();
      }, delay);
      waiting.add(cancel);
    });
  return {
    async wait(method) {
      const tier = tiers[method];
      if (!tier) return;
      if (closed) throw stopped(method);
      const perMinute = TIER_PER_MINUTE[tier];
      const burst = Math.max(1, Math.floor(perMinute * (options.burstShare ?? 0.2)));
      // burst + (window / interval) calls fit in any window: exactly the tier's count.
      const interval = Math.ceil((options.windowMs ?? 60_000) / Math.max(1, perMinute - burst));
      const delay = Number(await options.redis.eval(RESERVE, 2, keyOf(method), `${keyOf(method)}:blocked`, interval, burst));
      if (closed) throw stopped(method);
      if (delay > 0) await sleep(method, delay);
    },
    async block(method, seconds) {
      await options.redis.eval(BLOCK, 1, `${keyOf(method)}:blocked`, Math.ceil(seconds * 1000));
    },
    close() {
      closed = true;
      for (const cancel of [...waiting]) cancel();
    },
  };
}
