import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../../../src/dev/start-redis.js';
import { defined } from '../../helpers/defined.js';

const exec = promisify(execFile);

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `redis-cli -p <port> <args>` on loopback. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await exec('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 30_000 });
  return stdout;
}

/** One redis-server process on a fixed loopback port that can be killed and started again on the same data. */
export interface RedisProcess {
  port: number;
  url: string;
  dir: string;
  process: () => ChildProcess;
  /** Stops it: SIGTERM (a clean shutdown writes the AOF) or SIGKILL (a crash). */
  kill: (signal?: NodeJS.Signals) => Promise<void>;
  /** Starts it again with the same arguments, data directory and port. */
  start: () => Promise<void>;
  /** Kills it and removes its directory. */
  stop: () => Promise<void>;
}

/** Starts redis-server with `args` in `dir` (made when absent) on `port` (a free one when absent). */
export async function startRedisProcess(options: { args?: string[]; port?: number; dir?: string } = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'runnerops-rel-redis-')));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...(options.args ?? [])];
  return superviseRedis(args, port, dir);
}

/** A Redis Cluster of `masters` masters (no replicas) on loopback, made with `redis-cli --cluster create`. */
export interface RedisClusterProcesses {
  url: string;
  nodes: RedisProcess[];
  stop: () => Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisClusterProcesses> {
  const nodes: RedisProcess[] = [];
  for (let i = 0; i < masters; i++) {
    // The bus port is chosen too: port + 10000 may not exist for a high ephemeral port.
    const busPort = await freePort();
    nodes.push(
      await startRedisProcess({
        args: [
          '--appendonly',
          'no',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          '3000',
        ],
      }),
    );
  }
  await exec('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 60_000 });
  for (const node of nodes) {
    await waitFor(async () => (await redisCli(node.port, 'cluster', 'info')).includes('cluster_state:ok'), `cluster_state:ok on ${node.port}`);
  }
  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    stop: async () => {
      for (const node of nodes) await node.stop();
    },
  };
}

/** A primary, one replica and three sentinels watching them as `masterName`. */
export interface RedisSentinelProcesses {
  url: string;
  masterName: string;
  primary: RedisProcess;
  replica: RedisProcess;
  sentinels: RedisProcess[];
  /** The primary's port as the sentinels report it now. */
  currentPrimaryPort: () => Promise<number>;
  stop: () => Promise<void>;
}

export async function startRedisSentinel(masterName = 'runnerops'): Promise<RedisSentinelProcesses> {
  const primary = await startRedisProcess({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  const replica = await startRedisProcess({ args: ['--appendonly', 'yes', '--appendfsync', 'always', '--replicaof', '127.0.0.1', String(primary.port)] });
  await waitFor(async () => (await redisCli(replica.port, 'info', 'replication')).includes('master_link_status:up'), 'replica in sync');
  const sentinels: RedisProcess[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-rel-sentinel-'));
    const conf = path.join(dir, 'sentinel.conf');
    await writeFile(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${masterName} 1000`,
        `sentinel failover-timeout ${masterName} 5000`,
        `sentinel parallel-syncs ${masterName} 1`,
        '',
      ].join('\n'),
    );
    // `redis-server <conf> --sentinel`: the config file must come first.
    sentinels.push(await startSentinel(conf, port, dir));
  }
  const sentinelPort = defined(sentinels[0], 'a sentinel').port;
  await waitFor(async () => {
    const replicas = await redisCli(sentinelPort, 'sentinel', 'replicas', masterName);
    const others = await redisCli(sentinelPort, 'sentinel', 'sentinels', masterName);
    return replicas.includes(String(replica.port)) && (others.match(/^name$/gm)?.length ?? 0) >= 2;
  }, 'sentinels know the replica and each other');
  return {
    url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${masterName}`,
    masterName,
    primary,
    replica,
    sentinels,
    currentPrimaryPort: async () => Number((await redisCli(sentinelPort, 'sentinel', 'get-master-addr-by-name', masterName)).split('\n')[1]),
    stop: async () => {
      for (const p of [...sentinels, replica, primary]) await p.stop();
    },
  };
}

async function startSentinel(conf: string, port: number, dir: string): Promise<RedisProcess> {
  return superviseRedis([conf, '--sentinel'], port, dir);
}

/** Runs `redis-server <args>` listening on `port`, restartable (start) and killable with any signal. */
async function superviseRedis(args: string[], port: number, dir: string): Promise<RedisProcess> {
  let child: ChildProcess;
  const launch = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPort(port);
  };
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    process: () => child,
    kill,
    start: launch,
    stop: async () => {
      await kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every key (and its value, as text) on one node whose name contains `match`. */
export async function dumpNode(port: number, match = '*'): Promise<string> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await dumpKeys(redis, match);
  } finally {
    redis.disconnect();
  }
}

/** Every key matching `match` and its value as text (strings, hashes, lists, sets, sorted sets, streams). */
export async function dumpKeys(redis: Redis, match: string): Promise<string> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      out.push(key);
      if (type === 'string') out.push((await redis.get(key)) ?? '');
      else if (type === 'hash') out.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') out.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'set') out.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'zset') out.push(JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES')));
      else if (type === 'stream') out.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  return out.join('\n');
}
