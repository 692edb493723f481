import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type Docker from 'dockerode';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GARBAGE_NOTE, describeRuntimeRoots, name, payloadSchema, run, summarize, summarizeAll, type Result } from '../../jobs/store-usage.js';
import { findHostJob } from '../../jobs/index.js';
import { readWorkerSettings, type WorkerSettings } from '../../src/config.js';
import { PermanentJobError } from '../../src/errors.js';
import { readStoreHistory, storeHistoryKey } from '../../src/reports/store-history.js';
import type { JobProgress } from '../../jobs/job-context.js';
import { buildDerivations, createRootedStore, nixPathInfoAll, nixPrintDead, type RootedStore } from '../setup/nix-store-fixture.js';
import { TEST_BOT_KEYS } from '../helpers/test-trust.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';
import { ensureDockerEngine } from '../setup/docker-engine.js';
import { ensureNixDaemonImage } from '../setup/docker-images.js';
import { execInContainer } from '../../src/clients/docker/exec-in-container.js';

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

describe('summarizeAll', () => {
  it('gives one host its whole report: garbage, roots by kind, largest paths and closures, trend', async () => {
    const result = await run({ top: 3 }, contextFor(settingsFor(rooted.store, 'ci-whole')));
    const total = summarizeAll([result]);
    expect(total).toContain(`garbage: ${result.garbage.paths} paths`);
    expect(total).toMatch(/^roots: \d+ links to \d+ paths \(/m);
    expect(total).toContain('largest paths:');
    expect(total).toContain('largest closures (what each root keeps alive):');
    expect(total).toMatch(/^trend: first report of this host$/m);
    for (const p of result.largestPaths) expect(total).toContain(p.name);
    expect(total.split('\n')).toEqual(summarize(result).split('\n').slice(1));
  });

  it('gives several hosts the table across them', async () => {
    const a = await run({ top: 1 }, contextFor(settingsFor(rooted.store, 'ci-table-a')));
    const b = await run({ top: 1 }, contextFor(settingsFor(rooted.store, 'ci-table-b')));
    const total = summarizeAll([a, b]);
    expect(total).toContain('ci-table-a');
    expect(total).toContain('ci-table-b');
    expect(total).not.toContain('largest paths:');
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

describe("run on a host with the seed's gitlabnix container", () => {
  let docker: Docker;
  const daemon = `runnerops-test-gitlabnix-${randomBytes(4).toString('hex')}`;
  let added: string;

  beforeAll(async () => {
    docker = await ensureDockerEngine();
    const image = await ensureNixDaemonImage();
    const container = await docker.createContainer({ name: daemon, Image: image, HostConfig: { NetworkMode: 'none' } });
    await container.start();
    // The daemon answers once its socket is up: each try is one exec, and the store gets one path.
    for (let attempt = 1; ; attempt++) {
      const out = await execInContainer(docker, daemon, ['/bin/sh', '-c', 'echo gitlabnix > /tmp/g && nix-store --store daemon --add /tmp/g']);
      if (out.exitCode === 0) {
        added = out.stdout.trim();
        break;
      }
      if (attempt >= 50) throw new Error(`the nix daemon in ${daemon} never answered: ${out.stderr}`);
    }
  });
  afterAll(async () => {
    await docker
      ?.getContainer(daemon)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  });

  function containerHostSettings(explicit?: { stateDir: string; storeDir: string }): WorkerSettings {
    return readWorkerSettings({
      REDIS_URL: redisSettings.redisUrl,
      RUNNEROPS_PREFIX: redisSettings.prefix,
      RUNNEROPS_HOST: 'ci-seed',
      RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS,
      NIX_DAEMON_CONTAINER: daemon,
      ...(explicit ? { NIX_STATE_DIR: explicit.stateDir, NIX_STORE_DIR: explicit.storeDir } : {}),
    });
  }

  it("reports the container's store, found through its mounts, not the host's", async () => {
    const mounts = (await docker.getContainer(daemon).inspect()).Mounts;
    const result = await run(payloadSchema.parse({}), { ...contextFor(containerHostSettings()), docker });
    expect(result.store).toEqual({
      kind: 'container',
      label: `container ${daemon}`,
      stateDir: mounts.find((m) => m.Destination === '/nix/var/nix/db')!.Source,
      storeDir: mounts.find((m) => m.Destination === '/nix/store')!.Source,
      dbDir: mounts.find((m) => m.Destination === '/nix/var/nix/db')!.Source,
    });
    expect(result.source).toBe('db');
    expect(result.paths).toBe(1);
    expect(result.largestPaths.map((p) => p.path)).toEqual([added]);
    expect(result.roots.source).toBe('daemon');
    expect(result.garbage.paths).toBe(1);
    expect(summarize(result).split('\n')[0]).toBe(`Nix store of container ${daemon} (${result.store!.storeDir})`);
  });

  it("reports the host's own store separately when asked, and when NIX_STATE_DIR names it", async () => {
    const settings = containerHostSettings(rooted.store);
    const asked = await run(payloadSchema.parse({ store: 'host' }), { ...contextFor(settings), docker });
    expect(asked.store?.kind).toBe('host');
    expect(asked.paths).toBe((await nixPathInfoAll(rooted.store)).length);
    expect(await readStoreHistory(redis, redisSettings.prefix, 'ci-seed:host-store')).toHaveLength(1);
    const byDefault = await run(payloadSchema.parse({}), { ...contextFor(settings), docker });
    expect(byDefault.store?.stateDir).toBe(rooted.store.stateDir);
    const container = await run(payloadSchema.parse({ store: 'container' }), { ...contextFor(settings), docker });
    expect(container.largestPaths.map((p) => p.path)).toEqual([added]);
  });

  it('names NIX_DAEMON_CONTAINER when asked for a container store that is not there', async () => {
    const settings = { ...containerHostSettings(), nixDaemonContainer: `${daemon}-missing` };
    await expect(run(payloadSchema.parse({ store: 'container' }), { ...contextFor(settings), docker })).rejects.toThrow(
      `no container "${daemon}-missing" on ci-seed; check NIX_DAEMON_CONTAINER, or ask for the host's own store`,
    );
  });
});
