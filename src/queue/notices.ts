import type { Redis } from 'ioredis';
import { keys } from './names.js';
import { signDocument } from './signed.js';
import type { Signer } from './signing-keys.js';

/**
 * Something a worker did or saw on its own that people should hear about (the disk-pressure watch
 * pruning its host, a job it refused to run), signed with the host's key. The bot posts it: watch
 * notices to the reports channel, refusals as security notices.
 */
export interface Notice {
  /** What sent it. */
  source: 'disk-pressure-watch' | 'job-guard';
  host: string;
  at: number;
  /** `pruned`: space was freed; `still-low`: pruning could not reach the target; `failed`: the prune failed; `refused`: a job was not run. */
  outcome: 'pruned' | 'still-low' | 'failed' | 'refused';
  /** Plain text for Slack and the audit log, naming the host. */
  summary: string;
  /** Structured detail (free space before and after, what each prune pass reclaimed); never a secret. */
  result?: unknown;
}

const MAX_NOTICES = 10_000;

/** Stream of notices from workers to bots. */
export function noticesKey(prefix: string): string {
  return keys.notices(prefix);
}

export async function publishNotice(redis: Redis, prefix: string, signer: Signer, notice: Notice): Promise<string> {
  return (await redis.xadd(noticesKey(prefix), 'MAXLEN', '~', String(MAX_NOTICES), '*', 'n', JSON.stringify(signDocument(signer, 'notice', notice)))) as string;
}
