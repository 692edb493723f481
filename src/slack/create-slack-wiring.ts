import { WebClientEvent, type WebClient } from '@slack/web-api';
import type { BotCore } from '../bot/bot-core.js';
import type { Surface } from '../bot/surface.js';
import type { Logger } from '../logger.js';
import type { GroupMembers } from '../policy/decide.js';
import { homeBlocks } from './app-home.js';
import { createHomeRefresher, type HomeRefresher } from './home-refresh.js';
import { createPacer, type Pacer } from './pace-calls.js';
import { createSlackSurface } from './slack-surface.js';

export interface SlackWiring {
  pacer: Pacer;
  /** Set once the surface exists (makeSurface runs inside startBot). */
  home: () => HomeRefresher | undefined;
  makeSurface: (core: Omit<BotCore, 'surface' | 'members'>) => Surface;
}

/**
 * What `runnerops bot` and `runnerops dev` (with Slack) share: a pacer per workspace method tier (told
 * about every 429, so every replica waits out its Retry-After), the Home refresher and the surface.
 */
export function createSlackWiring(options: {
  client: WebClient;
  members: GroupMembers;
  log: Logger;
  reportsChannel?: string;
  onApiError?: (err: unknown) => void;
}): SlackWiring {
  let pacer: Pacer | undefined;
  let home: HomeRefresher | undefined;
  const pacerProxy: Pacer = {
    wait: async (method) => pacer?.wait(method),
    block: async (method, seconds) => pacer?.block(method, seconds),
    close: () => pacer?.close(),
  };
  options.client.on(WebClientEvent.RATE_LIMITED, (seconds: number, info: { url?: string }) => {
    const method = (info.url ?? '').split('/').pop() ?? '';
    if (method) pacerProxy.block(method, seconds).catch((err: unknown) => options.log.warn({ err }, 'could not share a Slack rate limit'));
  });
  return {
    pacer: pacerProxy,
    home: () => home,
    makeSurface: (core) => {
      pacer = createPacer({ redis: core.redis, prefix: core.prefix });
      home = createHomeRefresher({
        client: options.client,
        redis: core.redis,
        prefix: core.prefix,
        pacer,
        log: options.log,
        blocks: (viewer) => homeBlocks({ ...core, members: options.members }, viewer),
      });
      return createSlackSurface({
        client: options.client,
        redis: core.redis,
        prefix: core.prefix,
        approvals: core.approvals,
        log: options.log,
        pacer,
        home,
        ...(options.reportsChannel ? { reportsChannel: options.reportsChannel } : {}),
        ...(options.onApiError ? { onApiError: options.onApiError } : {}),
      });
    },
  };
}
