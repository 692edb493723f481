import type { Redis } from 'ioredis';

/**
 * Something a worker did on its own that people should hear about (the disk-pressure watch pruning its
 * host), shaped like a JobEvent so it reads the same in logs. The bot posts it to the reports channel.
 */
export interface Notice {
  /** What sent it. */
  source: 'disk-pressure-watch';
  host: string;
  at: number;
  /** `pruned`: space was freed; `still-low`: pruning could not reach the target; `failed`: the prune failed. */
  outcome: 'pruned' | 'still-low' | 'failed';
  /** Plain text for Slack and the audit log, naming the host. */
  summary: string;
  /** Structured detail (free space before and after, what each prune pass reclaimed); never a secret. */
  result?: unknown;
}

const MAX_NOTICES = 10_000;

/** Stream of notices from workers to bots. */
export function noticesKey(prefix: string): string {
  return `${prefix}:notices`;
}

export async function publishNotice(redis: Redis, prefix: string, notice: Notice): Promise<string> {
  return (await redis.xadd(noticesKey(prefix), 'MAXLEN', '~', String(MAX_NOTICES), '*', 'n', JSON.stringify(notice))) as string;
}
