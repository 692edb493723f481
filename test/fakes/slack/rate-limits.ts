/**
 * Slack's rate limits as the fake plays them: per workspace (one fake = one workspace) and per method,
 * counted over a sliding minute; a call over the limit answers HTTP 429 with `Retry-After` (seconds until
 * the oldest counted call leaves the window). chat.postMessage is limited per channel instead (about one
 * message per second, short bursts allowed). https://api.slack.com/apis/rate-limits
 */

/** Calls per minute of Slack's tiers. */
export const TIERS = { 1: 1, 2: 20, 3: 50, 4: 100 } as const;

/** The documented tier of each method the fake serves. */
export const METHOD_TIERS: Record<string, keyof typeof TIERS> = {
  'auth.test': 4,
  'chat.update': 3,
  'chat.postEphemeral': 4,
  'views.open': 4,
  'views.update': 4,
  'views.push': 4,
  'views.publish': 4,
  'users.info': 4,
  'conversations.info': 3,
  'conversations.open': 3,
  'usergroups.users.list': 2,
  'files.getUploadURLExternal': 4,
  'files.completeUploadExternal': 4,
  'apps.connections.open': 1,
};

export interface RateLimitOptions {
  /** Per-minute limits that replace the tiers', by method (tests use small ones). */
  perMinute?: Record<string, number>;
  /** chat.postMessage per channel: messages allowed within `postWindowMs`. @defaultValue 5 */
  postsPerWindow?: number;
  /** @defaultValue 5000 (so about one per second, bursts of up to 5) */
  postWindowMs?: number;
  /** The window the per-minute counts apply to (tests shrink it to keep runs short). @defaultValue 60000 */
  windowMs?: number;
}

export interface RateLimits {
  /** Counts the call; answers the seconds to wait when it is over the limit, else undefined. */
  take(method: string, params: Record<string, unknown>, now?: number): number | undefined;
}

export function createRateLimits(options: RateLimitOptions = {}): RateLimits {
  const windows = new Map<string, number[]>();
  const over = (key: string, limit: number, windowMs: number, now: number): number | undefined => {
    const calls = (windows.get(key) ?? []).filter((at) => at > now - windowMs);
    if (calls.length >= limit) {
      windows.set(key, calls);
      return Math.max(1, Math.ceil(((calls[0] ?? now) + windowMs - now) / 1000));
    }
    calls.push(now);
    windows.set(key, calls);
    return undefined;
  };
  return {
    take(method, params, now = Date.now()) {
      if (method === 'chat.postMessage') {
        const channel = typeof params.channel === 'string' ? params.channel : '';
        return over(`${method}:${channel}`, options.postsPerWindow ?? 5, options.postWindowMs ?? 5000, now);
      }
      const tier = METHOD_TIERS[method];
      const limit = options.perMinute?.[method] ?? (tier ? TIERS[tier] : undefined);
      return limit === undefined ? undefined : over(method, limit, options.windowMs ?? 60_000, now);
    },
  };
}
