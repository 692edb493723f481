import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { withTrust } from '../../src/queue/enrolment.js';
import { hostFingerprint } from '../../src/queue/host-fingerprint.js';
import { forgetGoneHosts, listHosts, publishHost, readHost, removeHost, touchHost, type HostEntry } from '../../src/queue/host-registry.js';
import { keys } from '../../src/queue/names.js';
import { generateSigner } from '../../src/queue/signing-keys.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';

const { redisUrl, prefix } = testRedisSettings();
const redis = testRedis(redisUrl);
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

const entry = (name: string): HostEntry => ({
  name,
  versions: { runnerops: 't' },
  labels: {},
  publicKey: randomBytes(32).toString('base64'),
  startedAt: 1,
  lastHeartbeat: Date.now(),
  heartbeatSeconds: 5,
});

describe('the host registry', () => {
  it('lists a signed entry with the fingerprint of its keys, and a tampered one without', async () => {
    const signer = generateSigner();
    const e = entry('hr-1');
    await publishHost(redis, prefix, signer, e);
    expect((await readHost(redis, prefix, 'hr-1'))?.fingerprint).toBe(hostFingerprint(signer.publicKey, e.publicKey!));
    const stored = JSON.parse((await redis.get(keys.hostEntry(prefix, 'hr-1')))!) as { body: HostEntry };
    stored.body.runners = [{ name: 'planted', id: 1 }];
    await redis.set(keys.hostEntry(prefix, 'hr-1'), JSON.stringify(stored));
    const tampered = await readHost(redis, prefix, 'hr-1');
    expect(tampered?.runners).toEqual([{ name: 'planted', id: 1 }]);
    expect(tampered?.fingerprint).toBeUndefined();
  });

  it('marks hosts enrolled, pending, key-changed or unsigned against the enrolled fingerprints', async () => {
    const [a, b, c] = [generateSigner(), generateSigner(), generateSigner()];
    const [ea, eb, ec] = [entry('tr-a'), entry('tr-b'), entry('tr-c')];
    await publishHost(redis, prefix, a, ea);
    await publishHost(redis, prefix, b, eb);
    await publishHost(redis, prefix, c, ec);
    const enrolled = new Map([
      ['tr-a', hostFingerprint(a.publicKey, ea.publicKey!)],
      ['tr-c', `SHA256:${'c'.repeat(43)}`],
    ]);
    const trust = Object.fromEntries(
      withTrust(await listHosts(redis, prefix), enrolled)
        .filter((h) => h.name.startsWith('tr-'))
        .map((h) => [h.name, h.trust]),
    );
    expect(trust).toEqual({ 'tr-a': 'enrolled', 'tr-b': 'pending', 'tr-c': 'key-changed' });
  });

  it('patches only its own entry and adopts nothing of one another key wrote', async () => {
    const own = generateSigner();
    const other = generateSigner();
    await publishHost(redis, prefix, own, entry('hr-2'));
    await touchHost(redis, prefix, own, 'hr-2', { disk: { dockerFreeBytes: 5 } });
    await touchHost(redis, prefix, own, 'hr-2', { disk: { nixFreeBytes: 7 } });
    expect((await readHost(redis, prefix, 'hr-2'))?.disk).toEqual({ dockerFreeBytes: 5, nixFreeBytes: 7 });
    await publishHost(redis, prefix, other, { ...entry('hr-2'), runners: [{ name: 'theirs' }] });
    await touchHost(redis, prefix, own, 'hr-2', { runners: [{ name: 'mine' }] });
    const after = await readHost(redis, prefix, 'hr-2');
    expect(after?.signPublicKey).toBe(other.publicKey);
    expect(after?.runners).toEqual([{ name: 'theirs' }]);
  });

  it('forgets names of hosts that left the registry', async () => {
    await publishHost(redis, prefix, generateSigner(), entry('hr-3'));
    await removeHost(redis, prefix, 'hr-3');
    expect(await redis.sismember(keys.hostIndex(prefix), 'hr-3')).toBe(1);
    expect((await listHosts(redis, prefix)).map((h) => h.name)).not.toContain('hr-3');
    expect(await forgetGoneHosts(redis, prefix)).toBe(1);
    expect(await redis.sismember(keys.hostIndex(prefix), 'hr-3')).toBe(0);
  });
});
