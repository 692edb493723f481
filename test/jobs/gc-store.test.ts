import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findHostJob } from '../../jobs/index.js';
import { name, payloadSchema, run, summarize, summarizeAll, type Result } from '../../jobs/gc-store.js';
import * as storeUsage from '../../jobs/store-usage.js';
import { readWorkerSettings, type WorkerSettings } from '../../src/config.js';
import { execInContainer } from '../../src/clients/docker/exec-in-container.js';
import { createLogger } from '../../src/logger.js';
import type { JobProgress } from '../../jobs/job-context.js';
import { ensureDockerEngine } from '../setup/docker-engine.js';
import { ensureNixDaemonImage } from '../setup/docker-images.js';
import { TEST_BOT_KEYS } from '../helpers/test-trust.js';
import { until } from '../helpers/until.js';
import { addDirectRoot, createNixTestRoot, nixPathInfoAll, nixPrintDead, startNixDaemon } from '../setup/nix-store-fixture.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';
import type { Redis } from 'ioredis';

// A nix-daemon container of its own, as the seed's gitlabnix: its store is what every GC here collects.
let docker: Docker;
let image: string;
const suffix = randomBytes(4).toString('hex');
const daemon = `runnerops-test-gc-${suffix}`;
const jobs: string[] = [];
const redisSettings = testRedisSettings();
let redis: Redis;

const settings = (): WorkerSettings =>
  readWorkerSettings({
    RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS,
    REDIS_URL: redisSettings.redisUrl,
    RUNNEROPS_PREFIX: redisSettings.prefix,
    RUNNEROPS_HOST: 'ci-gc',
    NIX_DAEMON_CONTAINER: daemon,
  });

function context(phases: JobProgress[] = []) {
  return {
    host: 'ci-gc',
    docker,
    settings: settings(),
    progress: async (p: JobProgress) => void phases.push(p),
    log: createLogger({ name: 'test', level: 'silent' }),
  };
}

async function inDaemon(script: string): Promise<string> {
  const out = await execInContainer(docker, daemon, ['/bin/sh', '-c', script], { timeoutMs: 60_000 });
  if (out.exitCode !== 0) throw new Error(`${script}: ${out.stderr}`);
  return out.stdout.trim();
}

/** Adds `name` and `name-ref` (which refers to it) to the store through the daemon; returns both paths. */
async function addPair(label: string): Promise<[string, string]> {
  const expr = `let a = builtins.toFile "${label}" "${label} ${randomBytes(6).toString('hex')}"; in builtins.toFile "${label}-ref" "uses \${a}"`;
  const ref = (await inDaemon(`nix-instantiate --store daemon --eval --read-write-mode -E '${expr}'`)).replace(/"/g, '');
  const leaf = (await inDaemon(`nix-store --store daemon --query --references ${ref}`)).split('\n')[0] ?? '';
  return [leaf, ref];
}

async function isValid(path: string): Promise<boolean> {
  const out = await execInContainer(docker, daemon, ['nix-store', '--store', 'daemon', '--check-validity', path]);
  return out.exitCode === 0;
}

beforeAll(async () => {
  redis = testRedis(redisSettings.redisUrl);
  docker = await ensureDockerEngine();
  image = await ensureNixDaemonImage();
  const container = await docker.createContainer({ name: daemon, Image: image, HostConfig: { NetworkMode: 'none' } });
  await container.start();
  await until(
    async () => (await execInContainer(docker, daemon, ['nix-store', '--store', 'daemon', '--gc', '--print-roots'])).exitCode === 0,
    30_000,
    'the nix daemon answering',
  );
});

afterAll(async () => {
  await Promise.all(
    [...jobs, daemon].map((n) =>
      docker
        ?.getContainer(n)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
  await deletePrefix(redis, redisSettings.prefix);
  await redis.quit();
});

describe('run', () => {
  it('deletes exactly what its dry run listed, keeps rooted paths, and sets the bytes freed next to the prediction', async () => {
    const [leaf, ref] = await addPair('garbage');
    const [keptLeaf, kept] = await addPair('kept');
    await inDaemon(`ln -sfn ${kept} /nix/var/nix/gcroots/kept-${suffix}`);
    const report = await storeUsage.run(storeUsage.payloadSchema.parse({}), { ...context(), redis, prefix: redisSettings.prefix });

    const dry = await run(payloadSchema.parse({ dryRun: true }), context());
    expect(dry.chosen.items).toEqual(expect.arrayContaining([leaf, ref]));
    expect(dry.chosen.items).not.toContain(kept);
    expect(dry.chosen.items).not.toContain(keptLeaf);
    expect(dry.predicted).toEqual({ paths: report.garbage.paths, narBytes: report.garbage.narBytes });
    expect(dry.chosen.narBytes).toBe(report.garbage.narBytes);
    expect(await isValid(leaf)).toBe(true);

    const phases: JobProgress[] = [];
    const real = await run(payloadSchema.parse({}), context(phases));
    expect(real.deleted!.digest).toBe(dry.chosen.digest);
    expect(real.deleted!.items).toEqual(dry.chosen.items);
    expect(real.deleted!.narBytes).toBe(dry.predicted!.narBytes);
    expect(real.predicted).toEqual(dry.predicted);
    expect(await isValid(leaf)).toBe(false);
    expect(await isValid(ref)).toBe(false);
    expect(await isValid(kept)).toBe(true);
    expect(await isValid(keptLeaf)).toBe(true);
    expect(phases.map((p) => p.phase)).toEqual(['reading the store report', 'finding garbage', 'collecting garbage']);
    expect(summarize(real)).toMatch(
      new RegExp(
        `^Nix GC in container ${daemon} deleted ${real.deleted!.count} paths: .* freed \\(.* NAR\\); the store report predicted .* in ${real.predicted!.paths} paths`,
      ),
    );
  });

  it('with --max-freed deletes the oldest garbage first, with what refers to it, and just what the dry run listed', async () => {
    const [oldLeaf, oldRef] = await addPair('oldest');
    const [newLeaf, newRef] = await addPair('newest');
    // Nix registers with one-second resolution: make the first pair older for certain, its leaf oldest.
    const sqlite = await import('better-sqlite3');
    const mounts = (await docker.getContainer(daemon).inspect()).Mounts;
    const db = new sqlite.default(`${mounts.find((m) => m.Destination === '/nix/var/nix/db')!.Source}/db.sqlite`);
    db.prepare('update ValidPaths set registrationTime = registrationTime - ? where path = ?').run(200, oldLeaf);
    db.prepare('update ValidPaths set registrationTime = registrationTime - ? where path = ?').run(100, oldRef);
    db.close();

    const dry = await run(payloadSchema.parse({ dryRun: true, maxFreedBytes: 1 }), context());
    expect(dry.chosen.items).toEqual([oldLeaf, oldRef].sort());
    expect(dry.dead.count).toBe(4);
    const real = await run(payloadSchema.parse({ maxFreedBytes: 1 }), context());
    expect(real.deleted!.digest).toBe(dry.chosen.digest);
    expect(await isValid(oldLeaf)).toBe(false);
    expect(await isValid(oldRef)).toBe(false);
    expect(await isValid(newLeaf)).toBe(true);
    expect(await isValid(newRef)).toBe(true);
    expect(summarize(dry)).toMatch(/^dry run: Nix GC in .* would delete 2 of 4 dead paths \(up to 1 B\)/);
  });

  it("keeps the paths a job container's nix session holds, and collects them once it ended", async () => {
    const marker = randomBytes(6).toString('hex');
    const input = (await inDaemon(`nix-instantiate --store daemon --eval --read-write-mode -E 'builtins.toFile "input-${marker}" "${marker}"'`)).replace(
      /"/g,
      '',
    );
    // A job container of the seed's kind whose nix session holds the path, as a running build holds its inputs.
    const job = `runnerops-test-gc-job-${suffix}`;
    jobs.push(job);
    const container = await docker.createContainer({
      name: job,
      Image: image,
      Cmd: [
        '/bin/sh',
        '-c',
        `(echo 'builtins.toFile "held-${marker}" "${marker}"'; while [ ! -e /tmp/go ]; do sleep 0.1; done) | nix --extra-experimental-features nix-command repl`,
      ],
      Env: ['NIX_REMOTE=daemon'],
      HostConfig: { NetworkMode: 'none', VolumesFrom: [daemon] },
    });
    await container.start();
    await until(
      async () => (await inDaemon('nix-store --store daemon --gc --print-roots')).includes(`-held-${marker}`),
      60_000,
      'the job session holding its path',
    );
    const heldPath = (await inDaemon('nix-store --store daemon --gc --print-roots'))
      .split('\n')
      .map((l) => l.split(' -> ')[1])
      .find((p) => p?.endsWith(`-held-${marker}`))!;

    const during = await run(payloadSchema.parse({}), context());
    expect(during.deleted!.items).toContain(input);
    expect(during.deleted!.items).not.toContain(heldPath);
    expect(await isValid(heldPath)).toBe(true);

    await execInContainer(docker, job, ['touch', '/tmp/go']);
    await container.wait();
    const after = await run(payloadSchema.parse({ dryRun: true }), context());
    expect(after.chosen.items).toContain(heldPath);
  });

  it('counts a dead store derivation as itself, not as the outputs it would build', async () => {
    const drv = await inDaemon(
      `nix-instantiate --store daemon -E 'derivation { name = "never-built-${suffix}"; system = builtins.currentSystem; builder = "/bin/sh"; }' 2>/dev/null`,
    );
    const dry = await run(payloadSchema.parse({ dryRun: true }), context());
    expect(dry.chosen.items).toContain(drv);
    expect(dry.chosen.narBytes).toBe(dry.predicted!.narBytes);
    const real = await run(payloadSchema.parse({}), context());
    expect(real.deleted!.digest).toBe(dry.chosen.digest);
    expect(await isValid(drv)).toBe(false);
  });

  it('names NIX_DAEMON_CONTAINER when it does not run a store', async () => {
    const ctx = { ...context(), settings: { ...settings(), nixDaemonContainer: `${daemon}-missing` } };
    await expect(run(payloadSchema.parse({ store: 'container' }), ctx)).rejects.toThrow(
      `no container "${daemon}-missing" on ci-gc; check NIX_DAEMON_CONTAINER`,
    );
  });
});

describe('run on a host without a nix-daemon container', () => {
  it("collects the host's own store through its daemon socket, deleting what the dry run listed", async () => {
    const store = await createNixTestRoot();
    try {
      await startNixDaemon(store);
      // Plain added files: the worker's nix reads a store derivation's file itself, and this store's files are not at /nix/store here.
      const add = async (name: string): Promise<string> => {
        const file = path.join(store.root, name);
        await writeFile(file, `${name} ${randomBytes(4).toString('hex')}`);
        return (await store.run('nix-store', ['--add', file])).trim();
      };
      const built = { 'host-garbage': { out: await add('host-garbage') }, 'host-kept': { out: await add('host-kept') } };
      await addDirectRoot(store, 'kept', built['host-kept'].out);
      const hostSettings = readWorkerSettings({
        RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS,
        REDIS_URL: redisSettings.redisUrl,
        RUNNEROPS_HOST: 'ci-host',
        NIX_STATE_DIR: store.stateDir,
        NIX_STORE_DIR: store.storeDir,
      });
      const ctx = { host: 'ci-host', settings: hostSettings, progress: async () => undefined, log: createLogger({ name: 'test', level: 'silent' }) };
      const expected = await nixPrintDead(store);
      const dry = await run(payloadSchema.parse({ dryRun: true }), ctx);
      expect(dry.store).toBe('host');
      expect(dry.via).toBe(`unix://${store.stateDir}/daemon-socket/socket`);
      expect(dry.chosen.count).toBe(expected.length);
      expect(dry.chosen.items).toContain(built['host-garbage'].out);
      expect(dry.chosen.items).not.toContain(built['host-kept'].out);
      const real = await run(payloadSchema.parse({}), ctx);
      expect(real.deleted!.digest).toBe(dry.chosen.digest);
      expect(await nixPrintDead(store)).toEqual([]);
      expect((await nixPathInfoAll(store)).map((p) => p.path)).toContain(built['host-kept'].out);
    } finally {
      await store.cleanup();
    }
  });
});

describe('summarizeAll', () => {
  it('adds up what every host freed', () => {
    const one = { dryRun: false, chosen: { count: 2, narBytes: 10 }, deleted: { count: 2, narBytes: 10, freedBytes: 2048 } } as Result;
    expect(summarizeAll([one, one])).toBe('deleted 4 store paths, 4.0 KiB freed on 2 hosts');
  });

  it('shows one host the paths its dry run would delete, below the line its row shows', () => {
    const chosen = { count: 2, narBytes: 4096, digest: 'd', items: ['/nix/store/aaa-one', '/nix/store/bbb-two'] };
    const one: Result = {
      host: 'ci-1',
      store: 'container gitlabnix',
      via: 'daemon',
      dryRun: true,
      dead: { count: 2, narBytes: 4096 },
      chosen,
      warnings: [],
      durationMs: 5,
    };
    const total = summarizeAll([one]);
    expect(summarize(one).split('\n')[0]).toContain('would delete 2 of 2 dead paths');
    expect(total).not.toContain('would delete 2 of 2');
    expect(total.split('\n')).toEqual(['  /nix/store/aaa-one', '  /nix/store/bbb-two']);
  });
});

describe('name', () => {
  it('is registered as a host job', () => {
    expect(name).toBe('gc-store');
    expect(findHostJob('gc-store')?.run).toBe(run);
  });
});
