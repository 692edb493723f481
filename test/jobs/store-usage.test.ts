import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GARBAGE_NOTE, describeRuntimeRoots, name, payloadSchema, run, summarize, type Result } from '../../jobs/store-usage.js';
import { findHostJob } from '../../jobs/index.js';
import { readWorkerSettings, type WorkerSettings } from '../../src/config.js';
import { PermanentJobError } from '../../src/errors.js';
import { readStoreHistory, storeHistoryKey } from '../../src/reports/store-history.js';
import type { JobProgress } from '../../src/worker/job-context.js';
import {
  buildDerivations,
  createRootedStore,
  nixPathInfoAll,
  nixPrintDead,
  type RootedStore,
} from '../setup/nix-store-fixture.js';
import { TEST_BOT_KEYS } from '../helpers/test-trust.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';

const redisSettings = testRedisSettings();
let redis: Redis;
let rooted: RootedStore;

function settingsFor(store: { stateDir: string; storeDir: string }, host = 'ci-store'): WorkerSettings {
  return readWorkerSettings({
    RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS,
    REDIS_URL: redisSettings.redisUrl,
    RUNNEROPS_PREFIX: redisSettings.prefix,
    RUNNEROPS_HOST: host,
    NIX_STATE_DIR: store.stateDir,
    NIX_STORE_DIR: store.storeDir,
  });
}

function contextFor(settings: WorkerSettings, phases: JobProgress[] = []) {
  return {
    host: settings.host,
    settings,
    redis,
    prefix: redisSettings.prefix,
    progress: async (update: JobProgress) => {
      phases.push(update);
    },
  };
}

beforeAll(async () => {
  redis = testRedis(redisSettings.redisUrl);
  rooted = await createRootedStore();
});
afterAll(async () => {
  await rooted?.store.cleanup();
  await deletePrefix(redis, redisSettings.prefix);
  await redis.quit();
});

describe('run', () => {
  let first: Result;
  let second: Result;
  const phases: JobProgress[] = [];

  beforeAll(async () => {
    const settings = settingsFor(rooted.store);
    first = await run(payloadSchema.parse({}), contextFor(settings, phases));
    // Something new and unrooted appears between two reports: store and garbage grow.
    await buildDerivations(rooted.store, [{ name: 'between-reports', padding: 20_000 }]);
    second = await run({ top: 3 }, contextFor(settings));
  });

  it('reports paths, bytes and garbage as Nix counts them, with the note on hard links', async () => {
    const infos = await nixPathInfoAll(rooted.store);
    const dead = await nixPrintDead(rooted.store);
    expect(second.paths).toBe(infos.length);
    expect(second.narBytes).toBe(infos.reduce((sum, i) => sum + i.narSize, 0));
    expect(second.garbage).toEqual({
      paths: dead.length,
      narBytes: infos.filter((i) => dead.includes(i.path)).reduce((sum, i) => sum + i.narSize, 0),
      note: GARBAGE_NOTE,
    });
    expect(second.source).toBe('db');
    expect(second.sourceDetail).toBe(path.join(rooted.store.stateDir, 'db/db.sqlite'));
    expect(second.disk.freeBytes).toBeGreaterThan(0);
  });

  it('lists the top N largest paths and closures with readable names', () => {
    expect(first.largestPaths.length).toBeGreaterThan(3);
    expect(second.largestPaths).toHaveLength(3);
    expect(second.largestClosures.length).toBeLessThanOrEqual(3);
    for (const p of [...second.largestPaths, ...second.largestClosures]) {
      expect(p.name).toBe(path.basename(p.path).slice(33));
    }
  });

  it('gives the trend since the previous report of the same host', () => {
    expect(first.trend).toBeNull();
    expect(second.trend).toMatchObject({ previousAt: first.at });
    expect(second.trend!.pathsChange).toBe(second.paths - first.paths);
    expect(second.trend!.pathsChange).toBeGreaterThanOrEqual(2);
    expect(second.trend!.narBytesChange).toBeGreaterThan(20_000);
    expect(second.trend!.garbageBytesChange).toBeGreaterThan(20_000);
  });

  it("keeps each report in the host's history in Redis", async () => {
    const history = await readStoreHistory(redis, redisSettings.prefix, 'ci-store');
    expect(history.map((h) => h.at)).toEqual([first.at, second.at]);
    expect(history[1]).toMatchObject({ paths: second.paths, garbageBytes: second.garbage.narBytes, freeBytes: second.disk.freeBytes });
    expect(await redis.exists(storeHistoryKey(redisSettings.prefix, 'ci-store'))).toBe(1);
  });

  it('says whether it could see running processes, and reports progress', () => {
    expect(second.runtimeRoots.visibility).toMatch(/^(all|partial)$/);
    expect(second.runtimeRoots.note).toBe(describeRuntimeRoots(second.runtimeRoots));
    expect(second.roots.byKind.runtime).toBe(1);
    expect(phases.map((p) => p.phase)).toEqual(['reading the Nix store', 'saving the report']);
  });

  it('fails with one line when the store directory does not exist', async () => {
    const settings = settingsFor({ stateDir: rooted.store.stateDir, storeDir: path.join(rooted.store.root, 'missing') }, 'ci-missing');
    const error = await run({ top: 10 }, contextFor(settings)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PermanentJobError);
    expect((error as Error).message).toMatch(/^Nix store directory .*missing does not exist; check NIX_STORE_DIR/);
    expect(await redis.exists(storeHistoryKey(redisSettings.prefix, 'ci-missing'))).toBe(0);
  });
});

describe('summarize', () => {
  it('gives the plain-text report for the job card', async () => {
    const result = await run({ top: 2 }, contextFor(settingsFor(rooted.store, 'ci-summary')));
    const text = summarize(result);
    expect(text.split('\n')[0]).toMatch(/^ci-summary: \d+ paths, .* in \/nix\/store; disk .* free of /);
    expect(text).toContain('garbage: ');
  });
});

describe('payloadSchema', () => {
  it('lists ten by default and refuses a top outside 1..100', () => {
    expect(payloadSchema.parse({})).toEqual({ top: 10 });
    expect(() => payloadSchema.parse({ top: 0 })).toThrow();
    expect(() => payloadSchema.parse({ top: 101 })).toThrow();
  });
});

describe('name', () => {
  it('is registered as a host job', () => {
    expect(name).toBe('store-usage');
    expect(findHostJob('store-usage')?.run).toBe(run);
  });
});
