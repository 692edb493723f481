import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWorkerSettings, type WorkerSettings } from '../../src/config.js';
import { PermanentJobError } from '../../src/errors.js';
import { policySchema } from '../../src/policy/schema.js';
import { noticesKey, type Notice } from '../../src/queue/notices.js';
import { publishWatchSettings, type WatchSettings } from '../../src/queue/watch-settings.js';
import { pruneWithJob, startDiskPressureWatch, type DiskPressureWatchDeps } from '../../src/worker/disk-pressure-watch.js';
import { createExclusiveLocks } from '../../src/worker/exclusive.js';
import { runDockerCli } from '../setup/docker-engine.js';
import { startTinyDockerd, type TinyDockerd } from '../setup/tiny-dockerd.js';
import { TEST_BOT_KEYS, testBotSigner } from '../helpers/test-trust.js';
import { generateSigner, ringOf } from '../../src/queue/signing-keys.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';
import { until } from '../helpers/until.js';
import { defined } from '../helpers/defined.js';

const run = promisify(execFile);
const log = pino({ level: 'silent' });
const { redisUrl, prefix } = testRedisSettings();
const redis = testRedis(redisUrl);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Imports an image holding `mb` MiB of random bytes (incompressible, so it really takes the space). */
async function importImage(engine: TinyDockerd, tag: string, mb: number, flags: string[] = []): Promise<void> {
  const src = await mkdtemp(path.join(engine.dir, 'img-'));
  await writeFile(path.join(src, 'blob'), randomBytes(mb << 20));
  await run('tar', ['-C', src, '-cf', `${src}.tar`, 'blob']);
  await runDockerCli(['import', ...flags, `${src}.tar`, tag], engine.host);
  await rm(src, { recursive: true, force: true });
  await rm(`${src}.tar`, { force: true });
}

async function imageTags(engine: TinyDockerd): Promise<string[]> {
  return (await engine.docker.listImages()).flatMap((i) => i.RepoTags ?? []).sort();
}

async function notices(): Promise<Notice[]> {
  const entries = (await redis.xrange(noticesKey(prefix), '-', '+')) as [string, string[]][];
  return entries.map(([, fields]) => (JSON.parse(defined(fields[1], 'the body of a notice')) as { body: Notice }).body);
}

function watchSettings(fields: Partial<Omit<WatchSettings, 'prune'>>): WatchSettings {
  const policy = policySchema.parse({ watch: { enabled: true, ...fields } });
  return { ...policy.watch, prune: policy.prune };
}

let engine: TinyDockerd;
let nixDir: string;
let settings: WorkerSettings;
const hostSigner = generateSigner();

beforeAll(async () => {
  engine = await startTinyDockerd(64);
  // The Nix store on a filesystem of its own (a second tmpfs), as on hosts with a separate /nix.
  nixDir = path.join(engine.dir, 'nix-store');
  await mkdir(nixDir);
  await run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', nixDir]);
  settings = readWorkerSettings({
    REDIS_URL: redisUrl,
    RUNNEROPS_PREFIX: prefix,
    RUNNEROPS_HOST: 'ci-watch',
    DOCKER_HOST: engine.host,
    NIX_STORE_DIR: nixDir,
    RUNNEROPS_STATE_DIR: path.join(engine.dir, 'state'),
    RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS,
    // This host allows the watch with thresholds above every policy below: the policy's are the ones in force.
    RUNNEROPS_WATCH: 'on',
    RUNNEROPS_WATCH_MIN_FREE_PERCENT: '90',
    RUNNEROPS_WATCH_TARGET_FREE_PERCENT: '95',
  });
});

afterAll(async () => {
  await engine?.stop();
  await deletePrefix(redis, prefix);
  await redis.quit();
});

function watchDeps(extra: Partial<DiskPressureWatchDeps>): DiskPressureWatchDeps {
  return {
    settings,
    docker: engine.docker,
    redis,
    prefix,
    log,
    signer: hostSigner,
    botKeys: ringOf(TEST_BOT_KEYS),
    prune: pruneWithJob({ host: settings.host, docker: engine.docker, settings, log }),
    runExclusive: createExclusiveLocks(),
    intervalMs: 3_600_000,
    // Tests call check() themselves; only the schedule test lets the timer run.
    firstCheckMs: 3_600_000,
    ...extra,
  };
}

describe('startDiskPressureWatch', () => {
  it('reads the watch settings the bot published and does nothing while free space is above the threshold', async () => {
    const watch = startDiskPressureWatch(watchDeps({}));
    try {
      await redis.del(`${prefix}:policy:watch`);
      expect((await watch.check()).outcome).toBe('disabled');
      await publishWatchSettings(redis, prefix, testBotSigner, policySchema.parse({ watch: { enabled: true, minFreePercent: 10 } }));
      const result = await watch.check();
      expect(result.outcome).toBe('ok');
      expect(result.before.map((f) => f.label).sort()).toEqual(['Docker data root', 'Nix store']);
      expect(await notices()).toEqual([]);
    } finally {
      await watch.stop();
    }
  });

  it('prunes the oldest unused objects first and stops once back above the target', async () => {
    await importImage(engine, 'watch/old:1', 14);
    // Docker lists image ages in whole seconds: 2.5 s apart keeps the 2 s pass clear of the new ones.
    await sleep(2500);
    await importImage(engine, 'watch/new:1', 14);
    await importImage(engine, 'watch/newer:1', 14);
    // About 42 MiB of 64 used: roughly 34% free, below the 45% minimum; the 50% target needs one image gone.
    const watch = startDiskPressureWatch(watchDeps({ policy: watchSettings({ minFreePercent: 45, targetFreePercent: 50 }), ageTiersSeconds: [2, 0] }));
    try {
      const result = await watch.check();
      expect(result.before.find((f) => f.label === 'Docker data root')!.freePercent).toBeLessThan(45);
      expect(result.outcome).toBe('pruned');
      expect(result.passes.map((p) => p.untilSeconds)).toEqual([2]);
      expect(await imageTags(engine)).toEqual(['watch/new:1', 'watch/newer:1']);
      const after = result.after.find((f) => f.label === 'Docker data root')!;
      expect(after.freePercent).toBeGreaterThanOrEqual(50);
      const [notice] = await notices();
      expect(notice).toMatchObject({ source: 'disk-pressure-watch', host: 'ci-watch', outcome: 'pruned' });
      expect(notice!.summary).toMatch(
        /^ci-watch: disk pressure: Docker data root .* free .*\(below 45%\); pruned unused for 2s: reclaimed 14 MiB \(images 14 MiB\); now \d+\.\d% free \(target 50%\)$/,
      );
    } finally {
      await watch.stop();
    }
  });

  it('never runs its prune while another prune holds the host', async () => {
    await redis.del(noticesKey(prefix));
    await importImage(engine, 'watch/held:1', 14);
    const locks = createExclusiveLocks();
    const events: string[] = [];
    let watchWaits!: () => void;
    const watchAsked = new Promise<void>((resolve) => (watchWaits = resolve));
    // The watch's own calls are told apart from the job's: the job is released once the watch asks for the lock.
    const watchLocks: typeof locks = (group, work) => {
      watchWaits();
      return locks(group, work);
    };
    const realPrune = pruneWithJob({ host: settings.host, docker: engine.docker, settings, log });
    const watch = startDiskPressureWatch(
      watchDeps({
        runExclusive: watchLocks,
        policy: watchSettings({ minFreePercent: 90, targetFreePercent: 95 }),
        ageTiersSeconds: [0],
        prune: async (payload) => {
          events.push('watch prune starts');
          return realPrune(payload);
        },
      }),
    );
    try {
      // A prune job of the same exclusive group is running (as dispatch would run it).
      let entered!: () => void;
      const jobRuns = new Promise<void>((resolve) => (entered = resolve));
      const job = locks('docker', async () => {
        events.push('job starts');
        entered();
        await watchAsked;
        // Give the watch every chance to start its prune while the job still holds the lock.
        await new Promise((resolve) => setImmediate(resolve));
        events.push('job ends');
      });
      await jobRuns;
      const result = await watch.check();
      await job;
      expect(events).toEqual(['job starts', 'job ends', 'watch prune starts']);
      expect(result.outcome).toBe('pruned');
      expect(await imageTags(engine)).toEqual([]);
    } finally {
      await watch.stop();
    }
  });

  it('says once when removing everything unused is not enough, and never touches protected images', async () => {
    await redis.del(noticesKey(prefix));
    await importImage(engine, 'watch/kept:1', 30, ['--change', 'LABEL runnerops.keep=true']);
    const watch = startDiskPressureWatch(watchDeps({ policy: watchSettings({ minFreePercent: 60, targetFreePercent: 70 }), ageTiersSeconds: [3600, 0] }));
    try {
      const first = await watch.check();
      const second = await watch.check();
      expect(first.outcome).toBe('still-low');
      expect(first.passes.map((p) => p.untilSeconds)).toEqual([3600, 0]);
      expect(second.outcome).toBe('still-low');
      expect(await imageTags(engine)).toEqual(['watch/kept:1']);
      const told = await notices();
      expect(told).toHaveLength(1);
      expect(told[0]).toMatchObject({ outcome: 'still-low' });
      expect(told[0]?.summary).toMatch(
        /pruned unused for 1h, then all unused: reclaimed 0 B; still \d+\.\d% free \(target 70%\): Docker has nothing more unused to remove/,
      );
    } finally {
      await watch.stop();
    }
  });

  it('reports a failed prune with its reason', async () => {
    await redis.del(noticesKey(prefix));
    const watch = startDiskPressureWatch(
      watchDeps({
        policy: watchSettings({ minFreePercent: 90, targetFreePercent: 95 }),
        prune: async () => {
          throw new PermanentJobError('Docker refused the prune: permission denied on /var/run/docker.sock');
        },
      }),
    );
    try {
      const result = await watch.check();
      expect(result.outcome).toBe('failed');
      const [notice] = await notices();
      expect(notice).toMatchObject({ outcome: 'failed' });
      expect(notice!.summary).toContain('pruning failed: Docker refused the prune: permission denied on /var/run/docker.sock');
    } finally {
      await watch.stop();
    }
  });

  it('tells once, on its own schedule, when only the Nix store is low and Docker pruning cannot free it', async () => {
    await redis.del(noticesKey(prefix));
    await writeFile(path.join(nixDir, 'filler'), randomBytes(7 << 20));
    let pruned = 0;
    // Every check starts by asking Docker for its data root: counting those calls counts the checks.
    let watchChecks = 0;
    const docker = new Proxy(engine.docker, {
      get: (target, property, receiver) => {
        if (property === 'info') watchChecks++;
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const watch = startDiskPressureWatch(
      watchDeps({
        docker,
        policy: watchSettings({ minFreePercent: 30, targetFreePercent: 40 }),
        intervalMs: 100,
        firstCheckMs: 0,
        prune: async () => {
          pruned++;
          throw new Error('must not prune');
        },
      }),
    );
    try {
      // Checks every 100 ms: wait for the notice, then for three more checks, which must not tell again.
      await until(async () => (await notices()).length > 0, 10_000, 'the Nix store notice');
      const checks = watchChecks;
      await until(async () => watchChecks >= checks + 3, 10_000, 'three more checks');
      const told = await notices();
      expect(told).toHaveLength(1);
      expect(told[0]?.summary).toMatch(
        /^ci-watch: disk pressure: Nix store .* has \d+\.\d% free .*it is not on Docker's filesystem, so pruning Docker cannot free it: collect Nix garbage/,
      );
      expect(pruned).toBe(0);
    } finally {
      await watch.stop();
      await rm(path.join(nixDir, 'filler'), { force: true });
    }
  });

  it('stays off where the host did not allow it, ignores settings no bot signed, and never goes past the host limits', async () => {
    const off = startDiskPressureWatch(watchDeps({ settings: { ...settings, watch: { ...settings.watch, enabled: false } } }));
    try {
      await publishWatchSettings(redis, prefix, testBotSigner, policySchema.parse({ watch: { enabled: true, minFreePercent: 90 } }));
      expect((await off.check()).outcome).toBe('disabled');
    } finally {
      await off.stop();
    }
    const watch = startDiskPressureWatch(watchDeps({ settings: { ...settings, watch: { enabled: true, minFreePercent: 1, targetFreePercent: 2 } } }));
    try {
      // Someone with a Redis connection writes settings that would prune at 95% free: not signed, not used.
      await redis.set(`${prefix}:policy:watch`, JSON.stringify({ ...watchSettings({ minFreePercent: 90, targetFreePercent: 95 }) }));
      expect((await watch.check()).outcome).toBe('disabled');
      // Signed by the bot but above this host's limits: the host's 1% holds, so nothing is low.
      await publishWatchSettings(redis, prefix, testBotSigner, policySchema.parse({ watch: { enabled: true, minFreePercent: 90, targetFreePercent: 95 } }));
      const result = await watch.check();
      expect(result.outcome).toBe('ok');
      expect(result.passes).toEqual([]);
    } finally {
      await watch.stop();
    }
  });

  it('evicts images least recently used first, just until the target, where the worker records image use', async () => {
    await redis.del(noticesKey(prefix));
    for (const image of await engine.docker.listImages()) await engine.docker.getImage(image.Id).remove({ force: true });
    for (const name of ['a', 'b', 'c']) await importImage(engine, `watch/lru-${name}:1`, 14);
    const id = async (tag: string): Promise<string> => (await engine.docker.getImage(tag).inspect()).Id;
    // Created a, b, c; used last b (longest ago), then c, then a: b must go, although it is not the oldest.
    const lastUse = new Map([
      [await id('watch/lru-b:1'), 1_000],
      [await id('watch/lru-c:1'), 2_000],
      [await id('watch/lru-a:1'), 3_000],
    ]);
    const watch = startDiskPressureWatch(
      watchDeps({
        policy: watchSettings({ minFreePercent: 45, targetFreePercent: 50 }),
        evictLru: true,
        prune: pruneWithJob({ host: settings.host, docker: engine.docker, settings, log, imageUse: { lastUsed: () => lastUse } }),
      }),
    );
    try {
      const result = await watch.check();
      expect(result.outcome).toBe('pruned');
      expect(result.passes).toHaveLength(1);
      expect(result.passes[0]?.result.lru!.evicted.map((e) => e.id)).toEqual([[...lastUse.keys()][0]]);
      expect(await imageTags(engine)).toEqual(['watch/lru-a:1', 'watch/lru-c:1']);
      const [notice] = await notices();
      expect(notice!.summary).toMatch(/; pruned least recently used images: reclaimed 14 MiB \(images 14 MiB\); now \d+\.\d% free \(target 50%\)$/);
    } finally {
      await watch.stop();
    }
  });

  it('collects Nix garbage when the Nix store is low and the policy lets it (watch.gc), at most what the target needs', async () => {
    await redis.del(noticesKey(prefix));
    const filler = path.join(nixDir, 'filler');
    await writeFile(filler, randomBytes(7 << 20));
    const asked: number[] = [];
    const watch = startDiskPressureWatch(
      watchDeps({
        policy: watchSettings({ minFreePercent: 30, targetFreePercent: 40, gc: true }),
        prune: async () => {
          throw new Error('must not prune');
        },
        // The collection stands in for gc-store: it frees what the store held and says so.
        gc: async (payload) => {
          asked.push(payload.maxFreedBytes!);
          await rm(filler);
          return {
            host: 'ci-watch',
            store: 'host',
            via: 'unix://socket',
            dryRun: false,
            dead: { count: 3, narBytes: 7 << 20 },
            chosen: { count: 3, narBytes: 7 << 20, digest: '', items: [] },
            deleted: { count: 3, narBytes: 7 << 20, digest: '', items: [], freedBytes: 7 << 20 },
            warnings: [],
            durationMs: 1,
          };
        },
      }),
    );
    try {
      const result = await watch.check();
      expect(result.outcome).toBe('pruned');
      expect(result.gc).toHaveLength(1);
      // 8 MiB with about 1 free: some 2.2 MiB more reach 40%.
      expect(asked[0]).toBeGreaterThan(1 << 20);
      expect(asked[0]).toBeLessThan(4 << 20);
      const [notice] = await notices();
      expect(notice!.summary).toMatch(
        /^ci-watch: disk pressure: Nix store .*\(below 30%\); collected Nix garbage: 3 paths, 7\.0 MiB freed; now \d+\.\d% free \(target 40%\)$/,
      );
    } finally {
      await watch.stop();
      await rm(filler, { force: true });
    }
  });
});
