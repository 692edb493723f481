import type { Redis } from 'ioredis';
import type { AuditSink } from '../audit/audit-log.js';
import type { Surface } from '../bot/surface.js';
import type { Logger } from '../logger.js';
import { consumeGroup, MalformedEntry, type ConsumerCounts } from '../queue/consume-group.js';
import type { EventSigners } from '../queue/events.js';
import { verifyDocument, type Signed } from '../queue/signed.js';
import { noticesKey, type Notice } from '../queue/notices.js';

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
export function startNoticeRelay(deps: NoticeRelayDeps): { stop: () => Promise<void>; counts: Readonly<ConsumerCounts> } {
  const { log } = deps;
  const post = async (notice: Notice) => {
    if (notice.source === 'job-guard') {
      deps.onRefusal?.('job');
      await deps.audit?.append({ kind: 'security', actor: `host:${notice.host}`, action: notice.source, outcome: `${notice.outcome}: ${notice.summary}` });
      await deps.surface.post(deps.securityChannel ?? deps.channel, `:rotating_light: security: ${notice.summary}`);
    } else {
      await deps.audit?.append({ kind: 'watch', actor: `host:${notice.host}`, action: notice.source, outcome: `${notice.outcome}: ${notice.summary}` });
      await deps.surface.post(deps.channel, notice.summary);
    }
  };
  return consumeGroup<{ id: string; notice: Notice }>({
    redis: deps.redis,
    blocking: deps.blocking,
    stream: noticesKey(deps.prefix),
    group: deps.group ?? 'bots',
    // From the start of the stream: notices published before any bot ran are posted too.
    startAt: '0',
    what: 'notices',
    log,
    claimIdleMs: deps.claimIdleMs ?? 60_000,
    parse: async (entry) => {
      const notice = await verifyNotice(entry.fields[1], deps.signers);
      if (!notice) throw new MalformedEntry('a notice that no enrolled host signed');
      return { id: entry.id, notice };
    },
    handle: async (notices) => {
      for (const { id, notice } of notices) {
        try {
          await post(notice);
        } catch (err) {
          // Slack's client already retried; a notice that still cannot be posted is logged, not retried forever.
          log.warn({ err, id }, 'could not post a notice');
        }
      }
    },
    onMalformed: (entry) => {
      log.warn({ id: entry.id }, 'dropped a notice that no enrolled host signed');
      deps.onRefusal?.('unsigned-notice');
    },
  });
}
