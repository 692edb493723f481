import { afterAll, describe, expect, it } from 'vitest';
import { policySchema } from '../../src/policy/schema.js';
import { effectiveWatch, publishWatchSettings, readWatchSettings } from '../../src/queue/watch-settings.js';
import { SignatureError } from '../../src/queue/signed.js';
import { generateSigner, ringOf } from '../../src/queue/signing-keys.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';
import { testBotSigner } from '../helpers/test-trust.js';

const { redisUrl, prefix } = testRedisSettings();
const redis = testRedis(redisUrl);
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

const host = { enabled: true, minFreePercent: 10, targetFreePercent: 20, protectLabel: 'keep=yes', pruneNamedVolumes: false };
const policy = (watch: object, prune: object = {}) => {
  const p = policySchema.parse({ watch, prune });
  return { ...p.watch, prune: p.prune };
};

describe('effectiveWatch', () => {
  it('lowers thresholds to the host limits and keeps the host protect label whatever the policy asks', () => {
    const result = effectiveWatch(host, policy({ enabled: true, minFreePercent: 80, targetFreePercent: 95 }, { namedVolumes: true, protectLabel: 'other=1' }));
    expect(result).toMatchObject({ enabled: true, minFreePercent: 10, targetFreePercent: 20, prune: { namedVolumes: false, protectLabel: 'keep=yes' } });
  });

  it('lets the policy narrow: lower thresholds, or off', () => {
    expect(effectiveWatch(host, policy({ enabled: true, minFreePercent: 5, targetFreePercent: 8 }))).toMatchObject({ minFreePercent: 5, targetFreePercent: 8 });
    expect(effectiveWatch(host, policy({ enabled: false })).enabled).toBe(false);
  });

  it('is off without a bot-signed policy, and off where the host did not turn it on', () => {
    expect(effectiveWatch(host, undefined).enabled).toBe(false);
    expect(effectiveWatch({ ...host, enabled: false }, policy({ enabled: true })).enabled).toBe(false);
  });
});

describe('readWatchSettings', () => {
  it('returns what a bot key signed and refuses what another key or nobody signed', async () => {
    await publishWatchSettings(redis, prefix, testBotSigner, policySchema.parse({ watch: { enabled: true } }));
    expect((await readWatchSettings(redis, prefix, ringOf(testBotSigner.publicKey)))?.enabled).toBe(true);
    await publishWatchSettings(redis, prefix, generateSigner(), policySchema.parse({ watch: { enabled: true } }));
    await expect(readWatchSettings(redis, prefix, ringOf(testBotSigner.publicKey))).rejects.toThrow(SignatureError);
    await redis.set(`${prefix}:policy:watch`, JSON.stringify(policy({ enabled: true })));
    await expect(readWatchSettings(redis, prefix, ringOf(testBotSigner.publicKey))).rejects.toThrow('unsigned watch-settings');
  });
});
