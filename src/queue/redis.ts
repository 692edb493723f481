import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { UserError } from '../errors.js';

/** One `host:port` of a Cluster seed list or a Sentinel list. */
export interface RedisNode {
  host: string;
  port: number;
}

/**
 * Where REDIS_URL points, decided by its scheme:
 * - `redis://` / `rediss://`: one Redis (the URL goes to ioredis as it is);
 * - `redis+cluster://[user:password@]h1:p1,h2:p2,...`: a Redis Cluster, from any of its nodes;
 * - `redis+sentinel://[user:password@]s1:p1,s2:p2,.../<master name>[/<db>][?sentinelPassword=...&sentinelUsername=...]`:
 *   the current primary of `<master name>` as the Sentinels report it.
 * `rediss+cluster://` and `rediss+sentinel://` use TLS (for Sentinel: to the sentinels and the primary).
 */
export type RedisTarget =
  | { mode: 'single'; url: string }
  | { mode: 'cluster'; nodes: RedisNode[]; username?: string; password?: string; tls: boolean }
  | {
      mode: 'sentinel';
      sentinels: RedisNode[];
      masterName: string;
      db: number;
      username?: string;
      password?: string;
      sentinelUsername?: string;
      sentinelPassword?: string;
      tls: boolean;
    };

const EXAMPLES = 'redis://host:6379, redis+cluster://h1:6379,h2:6379,h3:6379 or redis+sentinel://s1:26379,s2:26379,s3:26379/mymaster';

/** The URL with any user and password replaced by `***`, for messages and logs. */
export function maskRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)[^@/]*@/i, '$1***@');
}

function invalid(raw: string, what: string): UserError {
  return new UserError(`REDIS_URL="${maskRedisUrl(raw)}" is not valid: ${what}; expected e.g. ${EXAMPLES}`);
}

function parseNodes(raw: string, list: string, defaultPort: number): RedisNode[] {
  if (list === '') throw invalid(raw, 'it names no host');
  return list.split(',').map((item) => {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(item.trim());
    if (!match) throw invalid(raw, `"${item}" is not host:port`);
    const port = match[2] === undefined ? defaultPort : Number(match[2]);
    if (port < 1 || port > 65535) throw invalid(raw, `port ${match[2]} is out of range`);
    return { host: (match[1] ?? '').replace(/^\[(.*)\]$/, '$1'), port };
  });
}

function decode(raw: string, part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalid(raw, 'the user or password is not percent-encoded correctly');
  }
}

/** Reads REDIS_URL into a connection target; every mistake is a one-line UserError that never shows the password. */
export function parseRedisUrl(raw: string): RedisTarget {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(raw)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') {
    try {
      new URL(raw);
    } catch {
      throw invalid(raw, 'it is not a URL');
    }
    return { mode: 'single', url: raw };
  }
  const mode =
    scheme === 'redis+cluster' || scheme === 'rediss+cluster'
      ? 'cluster'
      : scheme === 'redis+sentinel' || scheme === 'rediss+sentinel'
        ? 'sentinel'
        : undefined;
  if (!mode) throw invalid(raw, `unknown scheme "${scheme ?? raw.split(':')[0]}"`);
  const tls = scheme!.startsWith('rediss');
  const rest = raw.slice(scheme!.length + 3);
  const [beforeQuery = '', query = ''] = rest.split(/\?(.*)/s, 2);
  const slash = beforeQuery.indexOf('/', Math.max(0, beforeQuery.lastIndexOf('@')));
  const authority = slash === -1 ? beforeQuery : beforeQuery.slice(0, slash);
  const pathPart = slash === -1 ? '' : beforeQuery.slice(slash + 1);
  const at = authority.lastIndexOf('@');
  const credentials: { username?: string; password?: string } = {};
  if (at !== -1) {
    const userInfo = authority.slice(0, at);
    const colon = userInfo.indexOf(':');
    const user = decode(raw, colon === -1 ? userInfo : userInfo.slice(0, colon));
    const password = colon === -1 ? undefined : decode(raw, userInfo.slice(colon + 1));
    if (user !== '') credentials.username = user;
    if (password !== undefined && password !== '') credentials.password = password;
  }
  const hosts = at === -1 ? authority : authority.slice(at + 1);
  if (mode === 'cluster') {
    if (pathPart !== '' || query !== '') throw invalid(raw, 'a cluster URL takes no path or query (Redis Cluster has only database 0)');
    return { mode, nodes: parseNodes(raw, hosts, 6379), ...credentials, tls };
  }
  const [masterName = '', dbText, ...extra] = pathPart.split('/');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(masterName)) throw invalid(raw, 'a sentinel URL needs the master name after the hosts ("/mymaster")');
  if (extra.length > 0 || (dbText !== undefined && dbText !== '' && !/^\d{1,2}$/.test(dbText)))
    throw invalid(raw, 'after the master name only a database number may follow');
  const params = new URLSearchParams(query);
  for (const name of params.keys()) {
    if (name !== 'sentinelPassword' && name !== 'sentinelUsername') throw invalid(raw, `unknown option "${name}" (sentinelPassword, sentinelUsername)`);
  }
  return {
    mode,
    sentinels: parseNodes(raw, hosts, 26379),
    masterName,
    db: dbText ? Number(dbText) : 0,
    ...credentials,
    ...(params.get('sentinelUsername') ? { sentinelUsername: params.get('sentinelUsername')! } : {}),
    ...(params.get('sentinelPassword') ? { sentinelPassword: params.get('sentinelPassword')! } : {}),
    tls,
  };
}

/** Delay before the n-th reconnection attempt: 100 ms more each time, at most 1 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(attempt * 100, 1000);
}

/**
 * Commands on a non-blocking connection wait this many reconnection attempts (about 10 s, see
 * reconnectDelayMs) before they fail: a Redis restart or a Sentinel failover passes unnoticed, a longer
 * outage reaches the person as an error.
 */
export const RETRIES_PER_REQUEST = 15;

/**
 * A connection for BullMQ and our own keys, in the mode REDIS_URL selects: a plain ioredis client, a
 * client that follows the Sentinels' current primary, or an ioredis `Cluster`. The Cluster offers the
 * same command methods (multi, eval, streams, `duplicate()` for another connection) and is typed as
 * `Redis` so callers stay the same in every mode; every key carries the prefix's hash tag, so each
 * MULTI and script touches one slot. `blocking` connections (workers, event readers) never give up on
 * a command while Redis restarts or fails over.
 */
export function createRedis(settings: { redisUrl: string }, options: { blocking?: boolean } = {}): Redis {
  const target = parseRedisUrl(settings.redisUrl);
  const base: RedisOptions = {
    maxRetriesPerRequest: options.blocking ? null : RETRIES_PER_REQUEST,
    enableOfflineQueue: true,
    retryStrategy: reconnectDelayMs,
    // A primary demoted by a failover answers writes with READONLY: reconnect (to the new primary) and resend.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
    lazyConnect: false,
  };
  const credentials = (t: { username?: string; password?: string }) => ({
    ...(t.username !== undefined ? { username: t.username } : {}),
    ...(t.password !== undefined ? { password: t.password } : {}),
  });
  let client: Redis;
  switch (target.mode) {
    case 'single':
      client = new Redis(target.url, base);
      break;
    case 'sentinel':
      client = new Redis({
        ...base,
        ...credentials(target),
        sentinels: target.sentinels,
        name: target.masterName,
        db: target.db,
        ...(target.sentinelUsername !== undefined ? { sentinelUsername: target.sentinelUsername } : {}),
        ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
        ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
        sentinelRetryStrategy: reconnectDelayMs,
        // Not ioredis' failoverDetector: its +switch-master handler can cut a reconnection that is
        // asking the sentinels, which ends the client for good. A failover closes the old primary's
        // connections (or answers READONLY, see reconnectOnError), which is enough to follow it.
        failoverDetector: false,
      });
      break;
    case 'cluster': {
      const clusterOptions: ClusterOptions = {
        redisOptions: { ...base, ...credentials(target), ...(target.tls ? { tls: {} } : {}) },
        clusterRetryStrategy: reconnectDelayMs,
        enableOfflineQueue: true,
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 300,
        retryDelayOnTryAgain: 100,
      };
      // Typed as Redis on purpose (see above); BullMQ recognises the Cluster at run time.
      client = new Cluster(target.nodes, clusterOptions) as unknown as Redis;
      break;
    }
  }
  return quietErrors(client);
}

/**
 * Connection errors surface through the commands that fail (and ioredis reconnects by itself); without
 * a listener ioredis would print every failed reconnect attempt. Copies made with `duplicate()` (for
 * XREAD BLOCK and the like) get the same listener.
 */
function quietErrors(client: Redis): Redis {
  client.on('error', () => undefined);
  const duplicate = client.duplicate.bind(client) as (...args: unknown[]) => Redis;
  (client as { duplicate: (...args: unknown[]) => Redis }).duplicate = (...args) => quietErrors(duplicate(...args));
  if (!(client instanceof Cluster)) reconnectAfterUnexpectedEnd(client);
  return client;
}

/**
 * ioredis ends a client for good when a reconnection attempt is cut short (its status becomes "end"
 * and every later command fails with "Connection is closed."): a worker would stay up but deaf. A
 * client that ends without anyone calling quit() or disconnect() connects again.
 */
function reconnectAfterUnexpectedEnd(client: Redis): void {
  let closing = false;
  const quit = client.quit.bind(client);
  const disconnect = client.disconnect.bind(client);
  client.quit = ((...args: Parameters<Redis['quit']>) => {
    closing = true;
    return quit(...args);
  }) as Redis['quit'];
  client.disconnect = (reconnect = false) => {
    if (!reconnect) closing = true;
    disconnect(reconnect);
  };
  client.on('end', () => {
    if (closing) return;
    setTimeout(() => {
      if (!closing && client.status === 'end') client.connect().catch(() => undefined);
    }, reconnectDelayMs(1)).unref();
  });
}

/** Whether `err` means Redis could not be reached (one test for every process; it lives in src/errors.ts). */
export { isRedisUnavailable } from '../errors.js';
