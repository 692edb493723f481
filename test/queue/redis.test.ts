import { describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { readCommonSettings } from '../../src/config.js';
import { UserError } from '../../src/errors.js';
import { until } from '../helpers/until.js';
import { testRedisSettings } from '../setup/redis.js';
import { createRedis, isRedisUnavailable, maskRedisUrl, parseRedisUrl, reconnectDelayMs } from '../../src/queue/redis.js';

describe('parseRedisUrl', () => {
  it('passes a plain redis:// URL through unchanged', () => {
    expect(parseRedisUrl('redis://:pw@10.0.0.5:6380/2')).toEqual({ mode: 'single', url: 'redis://:pw@10.0.0.5:6380/2' });
  });

  it('reads a cluster seed list with credentials and TLS', () => {
    expect(parseRedisUrl('rediss+cluster://ops:s%40cret@r1:7000,r2:7001,[::1]')).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'r1', port: 7000 },
        { host: 'r2', port: 7001 },
        { host: '::1', port: 6379 },
      ],
      username: 'ops',
      password: 's@cret',
      tls: true,
    });
  });

  it('reads sentinels, the master name, a database and the sentinel password', () => {
    expect(parseRedisUrl('redis+sentinel://:pw@s1:26379,s2/mymaster/3?sentinelPassword=sp')).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      masterName: 'mymaster',
      db: 3,
      password: 'pw',
      sentinelPassword: 'sp',
      tls: false,
    });
  });

  it.each([
    ['redis+sentinel://s1:26379', 'master name'],
    ['redis+cluster://', 'names no host'],
    ['redis+cluster://h1:99999', 'out of range'],
    ['redis+cluster://h1:7000/0', 'no path'],
    ['redis+sentinel://s1/m?foo=1', 'unknown option "foo"'],
    ['memcached://h1', 'unknown scheme "memcached"'],
    ['redis+cluster://h;1:7000', 'is not host:port'],
  ])('refuses %s with a one-line reason', (url, reason) => {
    expect(() => parseRedisUrl(url)).toThrow(UserError);
    expect(() => parseRedisUrl(url)).toThrow(reason);
  });

  it('never shows the password in its message', () => {
    expect(() => parseRedisUrl('redis+cluster://u:topsecret@h1:bad')).toThrow(/REDIS_URL="redis\+cluster:\/\/\*\*\*@h1:bad"/);
  });
});

describe('maskRedisUrl', () => {
  it('hides the user and password of every URL form', () => {
    expect(maskRedisUrl('redis+sentinel://u:p@s1:1/m')).toBe('redis+sentinel://***@s1:1/m');
    expect(maskRedisUrl('redis://h:1')).toBe('redis://h:1');
  });
});

describe('readCommonSettings', () => {
  it('accepts the cluster and sentinel forms of REDIS_URL', () => {
    expect(readCommonSettings({ REDIS_URL: 'redis+cluster://a:1,b:2' }).redisUrl).toBe('redis+cluster://a:1,b:2');
    expect(readCommonSettings({ REDIS_URL: 'redis+sentinel://a:1/m' }).redisUrl).toBe('redis+sentinel://a:1/m');
  });

  it('stops at a malformed REDIS_URL, naming the variable', () => {
    expect(() => readCommonSettings({ REDIS_URL: 'redis+sentinel://a:1' })).toThrow(/^REDIS_URL=/);
  });
});

describe('createRedis', () => {
  it('returns an ioredis Cluster for a cluster URL, with blocking connections that never give up', () => {
    const cluster = createRedis({ redisUrl: 'redis+cluster://127.0.0.1:9,127.0.0.1:10' }, { blocking: true }) as unknown as Cluster;
    try {
      expect(cluster).toBeInstanceOf(Cluster);
      expect(cluster.options.redisOptions?.maxRetriesPerRequest).toBeNull();
      const copy = cluster.duplicate();
      expect(copy).toBeInstanceOf(Cluster);
      expect(copy.listenerCount('error')).toBe(1);
      copy.disconnect();
    } finally {
      cluster.disconnect();
    }
  });

  it('returns a Sentinel-configured client for a sentinel URL', () => {
    const client = createRedis({ redisUrl: 'redis+sentinel://127.0.0.1:9/mymaster' });
    try {
      expect(client).toBeInstanceOf(Redis);
      expect(client.options.sentinels).toEqual([{ host: '127.0.0.1', port: 9 }]);
      expect(client.options.name).toBe('mymaster');
      expect(client.options.failoverDetector).toBe(false);
    } finally {
      client.disconnect();
    }
  });
});

describe('createRedis on one Redis', () => {
  it('connects again when ioredis ends the client without being asked to', async () => {
    const { redisUrl } = testRedisSettings();
    const client = createRedis({ redisUrl });
    try {
      await client.ping();
      // What ioredis does when a reconnection attempt is cut short: the status becomes "end" for good.
      (client as unknown as { setStatus: (s: string) => void }).setStatus('end');
      await until(async () => client.status === 'ready', 5000, 'reconnected');
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  it('stays closed after quit()', async () => {
    const { redisUrl } = testRedisSettings();
    const client = createRedis({ redisUrl });
    await client.ping();
    await client.quit();
    await new Promise((r) => setTimeout(r, 300));
    expect(client.status).toBe('end');
  });
});

describe('reconnectDelayMs', () => {
  it('grows by 100 ms per attempt up to one second', () => {
    expect([1, 5, 10, 50].map(reconnectDelayMs)).toEqual([100, 500, 1000, 1000]);
  });
});

describe('isRedisUnavailable', () => {
  it('tells connection failures from refused commands', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    expect(isRedisUnavailable(refused)).toBe(true);
    expect(isRedisUnavailable(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisUnavailable(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
    expect(isRedisUnavailable('ECONNREFUSED')).toBe(false);
  });
});
