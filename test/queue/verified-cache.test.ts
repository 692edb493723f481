import { afterAll, describe, expect, it } from 'vitest';
import { listHosts, publishHost } from '../../src/queue/host-registry.js';
import { keys } from '../../src/queue/names.js';
import { generateSigner } from '../../src/queue/signing-keys.js';
import { createVerifiedCache } from '../../src/queue/verified-cache.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';
import { defined } from '../helpers/defined.js';

describe('createVerifiedCache', () => {
  it('verifies a value once while its bytes stay the same, and again when they change', () => {
    const seen: string[] = [];
    const cached = createVerifiedCache((raw) => {
      seen.push(raw);
      return raw.length;
    });
    expect(cached('a', 'one')).toBe(3);
    expect(cached('a', 'one')).toBe(3);
    expect(cached('b', 'one')).toBe(3);
    expect(cached('a', 'three')).toBe(5);
    expect(seen).toEqual(['one', 'one', 'three']);
  });

  describe('in the host registry', () => {
    const { redisUrl, prefix } = testRedisSettings();
    const redis = testRedis(redisUrl);
    afterAll(async () => {
      await deletePrefix(redis, prefix);
      await redis.quit();
    });

    it('stops trusting a listed entry as soon as its stored bytes are altered without its key', async () => {
      const signer = generateSigner();
      const entry = {
        name: 'vc-1',
        versions: { runnerops: '1' },
        labels: {},
        publicKey: Buffer.alloc(32, 1).toString('base64'),
        startedAt: 1,
        lastHeartbeat: Date.now(),
        heartbeatSeconds: 5,
      };
      await publishHost(redis, prefix, signer, entry);
      const first = await listHosts(redis, prefix);
      expect(first[0]?.fingerprint).toMatch(/^SHA256:/);
      expect((await listHosts(redis, prefix))[0]?.fingerprint).toBe(defined(first[0], 'a listed host').fingerprint);

      const stored = JSON.parse((await redis.get(keys.hostEntry(prefix, 'vc-1')))!) as { body: { labels: Record<string, string> } };
      stored.body.labels = { rack: 'forged' };
      await redis.set(keys.hostEntry(prefix, 'vc-1'), JSON.stringify(stored));
      const altered = await listHosts(redis, prefix);
      expect(altered[0]?.labels).toEqual({ rack: 'forged' });
      expect(defined(altered[0], 'an altered host').fingerprint).toBeUndefined();
    });
  });
});
