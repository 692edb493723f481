import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { listHosts, type HostStatus } from '../queue/host-registry.js';
import { LIMITS, section } from '../present/blocks.js';
import { md } from '../present/mrkdwn.js';
import type { Pacer } from './pace-calls.js';
import { keys } from '../queue/names.js';

/** Who counts as a recent viewer of the Home tab, and how many of them are kept fresh. */
export const RECENT_VIEWER_MS = 24 * 3600_000;
export const MAX_RECENT_VIEWERS = 50;

export interface HomeRefresher {
  /** Someone opened the Home tab: remember them as a recent viewer and publish their view. */
  opened(user: string): Promise<void>;
  /** Publishes one person's Home now, with `notice` (e.g. why their click was refused) on top. */
  publish(user: string, notice?: string): Promise<void>;
  /** Hosts, approvals or jobs changed: republish the Home of every recent viewer, at most once per `debounceMs`. */
  changed(): void;
  /** Starts watching the host registry (facts, heartbeats that expired) for changes. */
  start(): void;
  stop(): void;
}

export interface HomeRefreshDeps {
  client: WebClient;
  redis: Redis;
  prefix: string;
  pacer: Pacer;
  log: Logger;
  /** The Home view's blocks for one viewer. */
  blocks: (viewer: string) => Promise<KnownBlock[]>;
  /** @defaultValue 3000 */
  debounceMs?: number;
  /** How often the host registry is compared with its last state. @defaultValue 10000 */
  hostPollMs?: number;
}

/** What of the host registry the Home tab shows, without the heartbeat age that changes every second. */
export function hostsFingerprint(hosts: HostStatus[]): string {
  return JSON.stringify(hosts.map(({ ageSeconds: _age, lastHeartbeat: _beat, ...rest }) => rest));
}

/**
 * Keeps the Home tab current for its recent viewers (kept in Redis, shared by replicas): a change marks
 * each viewer once per debounce window (SET NX across replicas) and the view is built when the window
 * ends, so it shows everything that happened meanwhile. Publishing is paced by the views.publish tier.
 */
export function createHomeRefresher(deps: HomeRefreshDeps): HomeRefresher {
  const viewersKey = keys.homeViewers(deps.prefix);
  const debounceMs = deps.debounceMs ?? 3000;
  const timers = new Set<NodeJS.Timeout>();
  let poll: NodeJS.Timeout | undefined;
  let lastHosts: string | undefined;
  let stopped = false;

  const publish = async (user: string, notice?: string) => {
    const blocks = await deps.blocks(user);
    const top = notice ? [section(md`:warning: ${notice}`)] : [];
    await deps.pacer.wait('views.publish');
    await deps.client.views.publish({ user_id: user, view: { type: 'home', blocks: [...top, ...blocks].slice(0, LIMITS.homeBlocks) } });
  };

  const refreshAll = async () => {
    const since = Date.now() - RECENT_VIEWER_MS;
    const viewers = await deps.redis.zrevrangebyscore(viewersKey, '+inf', since, 'LIMIT', 0, MAX_RECENT_VIEWERS);
    for (const user of viewers) {
      const first = await deps.redis.set(keys.homeRefresh(deps.prefix, user), '1', 'PX', debounceMs, 'NX');
      if (first !== 'OK' || stopped) continue;
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (stopped) return;
        publish(user).catch((err: unknown) => deps.log.warn({ err, user }, 'could not refresh a Home tab'));
      }, debounceMs);
      timers.add(timer);
    }
  };

  const checkHosts = async () => {
    const now = hostsFingerprint(await listHosts(deps.redis, deps.prefix));
    if (lastHosts !== undefined && now !== lastHosts) await refreshAll();
    lastHosts = now;
  };

  return {
    async opened(user) {
      await deps.redis
        .multi()
        .zadd(viewersKey, Date.now(), user)
        .zremrangebyscore(viewersKey, '-inf', Date.now() - RECENT_VIEWER_MS)
        .zremrangebyrank(viewersKey, 0, -(MAX_RECENT_VIEWERS + 1))
        .exec();
      await publish(user);
    },
    publish,
    changed() {
      if (stopped) return;
      refreshAll().catch((err: unknown) => deps.log.warn({ err }, 'could not refresh Home tabs'));
    },
    start() {
      if (poll) return;
      const tick = () => {
        poll = setTimeout(() => {
          checkHosts()
            .catch((err: unknown) => deps.log.warn({ err }, 'could not read the host registry for the Home tab'))
            .finally(() => {
              if (!stopped) tick();
            });
        }, deps.hostPollMs ?? 10_000);
        poll.unref();
      };
      checkHosts().catch(() => undefined);
      tick();
    },
    stop() {
      stopped = true;
      if (poll) clearTimeout(poll);
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
