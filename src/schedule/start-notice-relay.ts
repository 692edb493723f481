import os from 'node:os';
import type { Redis } from 'ioredis';
import type { AuditSink } from '../audit/audit-log.js';
import type { Surface } from '../bot/surface.js';
import type { Logger } from '../logger.js';
import type { EventSigners } from '../queue/events.js';
import { verifyDocument, type Signed } from '../queue/signed.js';
import { noticesKey, type Notice } from './notices.js';

export interface NoticeRelayDeps {
  redis: Redis;
  /** A dedicated connection for XREADGROUP BLOCK. */
  blocking: Redis;
  prefix: string;
  surface: Pick<Surface, 'post'>;
  /** Where notices go (the policy's `channels.reports`); undefined lets the surface pick its default. */
  channel: string | undefined;
  /** Where security notices (refused jobs) go (`channels.security`, else `channel`). */
  securityChannel?: string | undefined;
  /** Keys that may sign a notice about a host (its enrolled key); anything else is dropped and logged. */
  signers: EventSigners;
  /** Counts a security refusal (for /metrics). */
  onRefusal?: (what: string) => void;
  log: Logger;
  /** Records each notice as a `watch` entry. @defaultValue none */
  audit?: AuditSink;
  /** Consumer group; replicas sharing it post each notice once. @defaultValue `bots` */
  group?: string;
  /** Notices left unacknowledged this long by a dead replica are taken over. @defaultValue 60000 */
  claimIdleMs?: number;
}

type Entry = [string, string[]];

/** A notice from the stream (input), if the host it names signed it with its enrolled key. */
async function verifyNotice(raw: string | undefined, signers: EventSigners): Promise<Notice | undefined> {
  try {
    const doc = JSON.parse(raw ?? '') as Signed<Notice>;
    if (typeof doc?.body?.host !== 'string') return undefined;
    const ring = await signers(doc.body.host);
    try {
      return verifyDocument<Notice>(doc, 'notice', ring).body;
    } catch {
      return verifyDocument<Notice>(doc, 'notice', await signers(doc.body.host, true)).body;
    }
  } catch {
    return undefined;
  }
}

/**
 * Posts the notices workers publish (disk-pressure prunes) to the reports channel. Replicas share a
 * consumer group, so each notice is posted once; notices written while no bot ran are posted when one
 * starts, and those a replica took but never acknowledged are claimed by another after `claimIdleMs`.
 */
export function startNoticeRelay(deps: NoticeRelayDeps): { stop: () => Promise<void> } {
  const { redis, blocking, prefix, log } = deps;
  const stream = noticesKey(prefix);
  const group = deps.group ?? 'bots';
  const consumer = `${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const claimIdleMs = deps.claimIdleMs ?? 60_000;
  let stopped = false;

  const relay = async (entries: Entry[]) => {
    for (const [id, fields] of entries) {
      try {
        const notice = await verifyNotice(fields[1], deps.signers);
        if (!notice) {
          log.warn({ id }, 'dropped a notice that no enrolled host signed');
          deps.onRefusal?.('unsigned-notice');
        } else if (notice.source === 'job-guard') {
          deps.onRefusal?.('job');
          await deps.audit?.append({ kind: 'security', actor: `host:${notice.host}`, action: notice.source, outcome: `${notice.outcome}: ${notice.summary}` });
          await deps.surface.post(deps.securityChannel ?? deps.channel, `:rotating_light: security: ${notice.summary}`);
        } else {
          await deps.audit?.append({ kind: 'watch', actor: `host:${notice.host}`, action: notice.source, outcome: `${notice.outcome}: ${notice.summary}` });
          await deps.surface.post(deps.channel, notice.summary);
        }
      } catch (err) {
        // Slack's client already retried; a notice that still cannot be posted is logged, not retried forever.
        log.warn({ err, id }, 'could not post a notice');
      }
      await redis.xack(stream, group, id);
    }
  };

  const createGroup = async () => {
    try {
      // From the start of the stream: notices published before any bot ran are posted too.
      await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String(err).includes('BUSYGROUP')) throw err;
    }
  };

  const loop = async () => {
    await createGroup();
    let lastClaim = 0;
    while (!stopped) {
      try {
        if (Date.now() - lastClaim > Math.min(claimIdleMs, 30_000)) {
          lastClaim = Date.now();
          const claimed = (await redis.xautoclaim(stream, group, consumer, claimIdleMs, '0-0', 'COUNT', 100)) as [string, Entry[]];
          await relay(claimed[1].filter((entry) => entry && entry[1]));
        }
        const reply = (await blocking.xreadgroup('GROUP', group, consumer, 'COUNT', 100, 'BLOCK', 1000, 'STREAMS', stream, '>')) as [string, Entry[]][] | null;
        await relay(reply?.[0]?.[1] ?? []);
      } catch (err) {
        if (stopped) break;
        if (String(err).includes('NOGROUP')) {
          await createGroup().catch(() => undefined);
          continue;
        }
        log.warn({ err }, 'reading notices failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  const running = loop().catch((err: unknown) => log.error({ err }, 'the notice relay stopped'));
  return {
    stop: async () => {
      stopped = true;
      blocking.disconnect();
      await running;
    },
  };
}
