import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createAuditLog } from '../../src/audit/audit-log.js';
import type { Surface } from '../../src/bot/surface.js';
import { createRedis } from '../../src/queue/redis.js';
import { publishNotice, type Notice } from '../../src/queue/notices.js';
import { startNoticeRelay } from '../../src/schedule/start-notice-relay.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';
import { generateSigner, ringOf } from '../../src/queue/signing-keys.js';
import { until } from '../helpers/until.js';

/** Every host of these tests signs with one key; the relay accepts exactly that key. */
const hostSigner = generateSigner();
const signers = async () => ringOf(hostSigner.publicKey);

const log = pino({ level: 'silent' });
const { redisUrl } = testRedisSettings();
const redis = testRedis(redisUrl);
const prefixes: string[] = [];

afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(redis, prefix);
  await redis.quit();
});

function notice(host: string, summary: string): Notice {
  return { source: 'disk-pressure-watch', host, at: Date.now(), outcome: 'pruned', summary: `${host}: ${summary}` };
}

interface Post {
  channel: string | undefined;
  text: string;
}

/** A surface that keeps what it was asked to post (the Slack surface is exercised in run-scheduled-command). */
function recordingSurface(posts: Post[], failFirst = false): Pick<Surface, 'post'> {
  let calls = 0;
  return {
    post: async (channel, text) => {
      calls++;
      if (failFirst && calls === 1) throw new Error('channel_not_found');
      posts.push({ channel, text });
    },
  };
}

function startRelay(prefix: string, surface: Pick<Surface, 'post'>) {
  return startNoticeRelay({
    redis,
    blocking: createRedis({ redisUrl }, { blocking: true }),
    prefix,
    surface,
    channel: 'C0REPORTS',
    securityChannel: 'C0SEC',
    signers,
    log,
    audit: createAuditLog(redis, prefix),
  });
}

describe('startNoticeRelay', () => {
  it('posts each notice once across two bot replicas, including those published before any bot ran', async () => {
    const prefix = testRedisSettings().prefix;
    prefixes.push(prefix);
    await publishNotice(redis, prefix, hostSigner, notice('ci-1', 'published while no bot ran'));
    const posts: Post[] = [];
    const a = startRelay(prefix, recordingSurface(posts));
    const b = startRelay(prefix, recordingSurface(posts));
    for (let i = 0; i < 5; i++) await publishNotice(redis, prefix, hostSigner, notice(`ci-${i + 2}`, 'pruned'));
    await until(async () => posts.length >= 6, 10_000, 'six notices posted');
    // stop() returns once both loops ended: a notice posted twice would be in `posts` by then.
    await Promise.all([a.stop(), b.stop()]);
    expect(posts.map((p) => p.text).sort()).toEqual([
      'ci-1: published while no bot ran',
      'ci-2: pruned',
      'ci-3: pruned',
      'ci-4: pruned',
      'ci-5: pruned',
      'ci-6: pruned',
    ]);
    expect(posts.every((p) => p.channel === 'C0REPORTS')).toBe(true);
    const audit = await createAuditLog(redis, prefix).read(10);
    expect(audit).toHaveLength(6);
    expect(audit[0]).toMatchObject({
      kind: 'watch',
      actor: expect.stringMatching(/^host:ci-\d$/),
      action: 'disk-pressure-watch',
      outcome: expect.stringMatching(/^pruned: ci-\d: /),
    });
  });

  it('goes on with the next notice when one cannot be posted', async () => {
    const prefix = testRedisSettings().prefix;
    prefixes.push(prefix);
    const posts: Post[] = [];
    const relay = startRelay(prefix, recordingSurface(posts, true));
    await publishNotice(redis, prefix, hostSigner, notice('ci-1', 'lost to a Slack error'));
    await publishNotice(redis, prefix, hostSigner, notice('ci-2', 'posted'));
    await until(async () => posts.length >= 1, 10_000, 'a notice posted');
    await relay.stop();
    expect(posts.map((p) => p.text)).toEqual(['ci-2: posted']);
  });

  it('drops a notice its host did not sign and posts a refused job as a security notice', async () => {
    const prefix = testRedisSettings().prefix;
    prefixes.push(prefix);
    const posts: Post[] = [];
    const relay = startRelay(prefix, recordingSurface(posts));
    await publishNotice(redis, prefix, generateSigner(), notice('ci-1', 'forged by someone with a Redis connection'));
    await redis.xadd(`${prefix}:notices`, '*', 'n', JSON.stringify(notice('ci-1', 'unsigned')));
    await publishNotice(redis, prefix, hostSigner, {
      source: 'job-guard',
      host: 'ci-2',
      at: Date.now(),
      outcome: 'refused',
      summary: 'ci-2 refused a rotate-token job (unsigned job)',
    });
    // Entries are handled in stream order: once the last one is posted, the forged ones were dropped.
    await until(async () => posts.length >= 1, 10_000, 'the security notice posted');
    await relay.stop();
    expect(posts).toEqual([{ channel: 'C0SEC', text: ':rotating_light: security: ci-2 refused a rotate-token job (unsigned job)' }]);
    const audit = await createAuditLog(redis, prefix).read(10);
    expect(audit.map((a) => a.kind)).toEqual(['security']);
  });
});
