import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { PermanentJobError } from '../../src/errors.js';
import type { WorkerSettings } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { payloadSchema, run, summarize, type Payload } from '../../jobs/prune-docker.js';
import { statfs } from 'node:fs/promises';
import { startPrivateDockerd, type PrivateDockerd } from '../setup/docker-engine.js';
import { startTinyDockerd, type TinyDockerd } from '../setup/tiny-dockerd.js';
import { ensureBusyboxImage, importFilesImage } from '../setup/docker-images.js';
import { createExitedContainers, createPruneFixture, listEngine } from '../clients/docker/prune-fixture.js';
import { defined } from '../helpers/defined.js';

// A prune acts on the whole engine, and other test files share the main one: every test here runs
// against a dockerd of its own, and checks the outcome by asking that engine what is left.
let engine: PrivateDockerd;
let docker: Docker;
let busybox: string;

const payload = (input: Partial<Payload>): Payload => payloadSchema.parse({ untilSeconds: 0, ...input });

function context(
  nixDaemonContainer: string,
  onDocker = docker,
  limits: Partial<Pick<WorkerSettings, 'protectLabel' | 'pruneNamedVolumes'>> = {},
): Parameters<typeof run>[1] {
  return {
    host: 'ci-test',
    docker: onDocker,
    settings: {
      nixDaemonContainer,
      dockerHost: engine.host,
      protectLabel: 'runnerops.keep=true',
      pruneNamedVolumes: true,
      ...limits,
    } as unknown as WorkerSettings,
    progress: async () => undefined,
    log: createLogger({ name: 'test', level: 'silent' }),
  };
}

/** Things no prune may touch: a stopped nix-daemon stand-in with its volumes and image, and protected objects. */
async function createKeepers(tag: string): Promise<{ daemonName: string; daemonImage: string; containers: string[]; volumes: string[]; images: string[] }> {
  const daemonName = `gitlabnix-${tag}`;
  // The daemon's image is an untagged copy of busybox, so only the nix-daemon rule (not a tag) keeps it.
  const base = await docker.createContainer({ Image: busybox, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
  const { Id: daemonImage } = (await base.commit({})) as { Id: string };
  await base.remove();
  await docker.createVolume({ Name: `nix-store-${tag}` });
  // Stopped, as during a restart: a plain `docker container prune` would take it.
  const daemon = await docker.createContainer({
    name: daemonName,
    Image: daemonImage,
    Cmd: ['true'],
    Volumes: { '/nix/var/nix/db': {} },
    HostConfig: { NetworkMode: 'none', Binds: [`nix-store-${tag}:/nix/store`] },
  });
  await daemon.start();
  await daemon.wait();
  const daemonVolumes = (await daemon.inspect()).Mounts.flatMap((m) => (m.Name ? [m.Name] : []));
  const [keptContainer] = await createExitedContainers(docker, busybox, 1, { labels: { 'runnerops.keep': 'true' }, withVolume: () => true });
  const keptImage = await importFilesImage(docker, { kept: randomBytes(32) }, { changes: ['LABEL runnerops.keep=true'] });
  const keptVolume = await docker.createVolume({ Name: randomBytes(32).toString('hex'), Labels: { 'runnerops.keep': 'true' } });
  const keptContainerVolumes = (await docker.getContainer(keptContainer!).inspect()).Mounts.flatMap((m) => (m.Name ? [m.Name] : []));
  return {
    daemonName,
    daemonImage,
    containers: [daemon.id, keptContainer!],
    volumes: [...daemonVolumes, keptVolume.name, ...keptContainerVolumes],
    images: [daemonImage, keptImage],
  };
}

beforeAll(async () => {
  engine = await startPrivateDockerd();
  docker = engine.docker;
  busybox = await ensureBusyboxImage(engine.host);
});

afterAll(async () => {
  await engine?.stop();
});

describe('run', () => {
  it('removes exited containers, dangling images and anonymous volumes but nothing it must keep', async () => {
    const keepers = await createKeepers('a');
    const fixture = await createPruneFixture(docker, { image: busybox, exitedContainers: 6, anonymousVolumes: 3, danglingImages: 4 });
    const named = await docker.createVolume({ Name: 'named-a' });
    const running = await docker.createContainer({ Image: busybox, Cmd: ['sleep', '600'], Volumes: { '/data': {} }, HostConfig: { NetworkMode: 'none' } });
    await running.start();
    const runningVolume = defined((await running.inspect()).Mounts[0]?.Name, 'a volume of the running container');

    const result = await run(payload({ volumes: true }), context(keepers.daemonName));

    const left = await listEngine(docker);
    for (const id of fixture.containers) expect(left.containers.has(id)).toBe(false);
    for (const id of fixture.images) expect(left.images.has(id)).toBe(false);
    for (const name of fixture.volumes) expect(left.volumes.has(name)).toBe(false);
    for (const id of [...keepers.containers, running.id]) expect(left.containers.has(id)).toBe(true);
    for (const id of keepers.images) expect(left.images.has(id)).toBe(true);
    for (const name of [...keepers.volumes, named.name, runningVolume]) expect(left.volumes.has(name)).toBe(true);
    expect(left.images.has((await docker.getImage(busybox).inspect()).Id)).toBe(true);
    expect(result.kept['nix-daemon']).toBeGreaterThanOrEqual(1);
    expect(result.kept['protect-label']).toBeGreaterThanOrEqual(3);
    expect(summarize(result)).toMatch(/^removed 6 containers .* 4 images .* 3 volumes/);
    await running.remove({ force: true, v: true });
  });

  it('reports in a dry run exactly what the real run then removes', async () => {
    const keepers = await createKeepers('b');
    const fixture = await createPruneFixture(docker, { image: busybox, exitedContainers: 5, anonymousVolumes: 2, danglingImages: 3, imageBytes: 10_000 });
    const before = await listEngine(docker);

    const dry = await run(payload({ volumes: true, dryRun: true }), context(keepers.daemonName));
    expect(await listEngine(docker)).toEqual(before);
    const real = await run(payload({ volumes: true }), context(keepers.daemonName));
    const after = await listEngine(docker);

    const gone = (kind: 'containers' | 'images' | 'volumes'): number => [...before[kind]].filter((x) => !after[kind].has(x)).length;
    expect(gone('containers')).toBe(dry.containers.count);
    expect(gone('images')).toBe(dry.images.count);
    expect(gone('volumes')).toBe(dry.volumes.count);
    expect(dry.volumes.items.every((name) => !after.volumes.has(name))).toBe(true);
    expect([dry.containers.count, dry.images.count, dry.volumes.count]).toEqual([real.containers.count, real.images.count, real.volumes.count]);
    expect(dry.totalBytes).toBe(real.totalBytes);
    expect(dry.images.bytes).toBeGreaterThanOrEqual(3 * 10_000);
    expect(dry.volumes.bytes).toBeGreaterThan(0);
    // Earlier tests' stand-ins are no longer the nix-daemon here, so they count too.
    expect(dry.containers.count).toBeGreaterThanOrEqual(fixture.containers.length);
    expect(summarize(dry)).toMatch(new RegExp(`^dry run: would remove ${dry.containers.count} containers`));
  });

  it('keeps everything younger than --until, and young runner cache volumes unless asked', async () => {
    const keepers = await createKeepers('c');
    const [young] = await createExitedContainers(docker, busybox, 1);
    const youngImage = await importFilesImage(docker, { young: randomBytes(16) });
    const cacheName = `runner-abcd1234-project-7-concurrent-0-cache-${createHash('md5').update('c').digest('hex')}`;
    await docker.createVolume({ Name: cacheName });

    const result = await run(payload({ volumes: true, untilSeconds: 3600 }), context(keepers.daemonName));
    let left = await listEngine(docker);
    expect(left.containers.has(young!)).toBe(true);
    expect(left.images.has(youngImage)).toBe(true);
    expect(left.volumes.has(cacheName)).toBe(true);
    expect(result.kept['young-cache-volume']).toBe(1);

    await run(payload({ volumes: true, untilSeconds: 3600, youngCacheVolumes: true }), context(keepers.daemonName));
    left = await listEngine(docker);
    expect(left.volumes.has(cacheName)).toBe(false);
    expect(left.containers.has(young!)).toBe(true);
  });

  it('removes unused tagged images and named volumes only when asked', async () => {
    const keepers = await createKeepers('d');
    const tagged = await importFilesImage(docker, { t: randomBytes(16) }, { tag: 'runnerops-test/unused:1' });
    const used = await importFilesImage(docker, { u: randomBytes(16) }, { tag: 'runnerops-test/used:1' });
    const user = await docker.createContainer({ Image: used, Cmd: ['x'], HostConfig: { NetworkMode: 'none' } });
    await docker.createVolume({ Name: 'named-d' });

    await run(payload({ volumes: true }), context(keepers.daemonName));
    let left = await listEngine(docker);
    expect(left.images.has(tagged)).toBe(true);
    expect(left.volumes.has('named-d')).toBe(true);

    await run(payload({ images: 'unused', namedVolumes: true }), context(keepers.daemonName));
    left = await listEngine(docker);
    expect(left.images.has(tagged)).toBe(false);
    expect(left.images.has(used)).toBe(true);
    expect(left.volumes.has('named-d')).toBe(false);
    for (const name of keepers.volumes) expect(left.volumes.has(name)).toBe(true);
    for (const id of keepers.images) expect(left.images.has(id)).toBe(true);
    await user.remove({ force: true });
  });

  it("holds the host's own limits whatever the job asks: its protect label, and named volumes only where allowed", async () => {
    const keepers = await createKeepers('e');
    await docker.createVolume({ Name: 'named-e' });
    const hostKept = await docker.createVolume({ Name: 'host-kept-e', Labels: { 'site.keep': 'yes' } });
    // A job naming another protect label and asking for named volumes, on a host that protects site.keep=yes and allows no named-volume prune.
    await run(
      payload({ volumes: true, namedVolumes: true, protectLabel: 'other=1' }),
      context(keepers.daemonName, docker, { protectLabel: 'site.keep=yes', pruneNamedVolumes: false }),
    );
    let left = await listEngine(docker);
    expect(left.volumes.has('named-e')).toBe(true);
    expect(left.volumes.has(hostKept.name)).toBe(true);
    // Where named volumes are allowed, the host's label still protects its volume.
    await run(
      payload({ volumes: true, namedVolumes: true, protectLabel: 'other=1' }),
      context(keepers.daemonName, docker, { protectLabel: 'site.keep=yes', pruneNamedVolumes: true }),
    );
    left = await listEngine(docker);
    expect(left.volumes.has('named-e')).toBe(false);
    expect(left.volumes.has(hostKept.name)).toBe(true);
    expect(left.volumes.has('nix-store-e')).toBe(true);
    await docker.getVolume(hostKept.name).remove();
  });

  it('finishes without failing while another prune runs on the same engine', async () => {
    const fixture = await createPruneFixture(docker, { image: busybox, exitedContainers: 24, anonymousVolumes: 6, danglingImages: 6 });
    const cli = spawn('docker', ['-H', engine.host, 'system', 'prune', '-f', '--volumes'], { stdio: 'ignore' });
    const cliDone = new Promise<number | null>((resolve) => cli.once('close', resolve));

    const result = await run(payload({ volumes: true, buildCache: true }), context('gitlabnix-none'));
    expect(await cliDone).toBe(0);

    const left = await listEngine(docker);
    for (const id of fixture.containers) expect(left.containers.has(id)).toBe(false);
    for (const id of fixture.images) expect(left.images.has(id)).toBe(false);
    for (const name of fixture.volumes) expect(left.volumes.has(name)).toBe(false);
    expect(result.dryRun).toBe(false);
  });

  it('says the Docker Engine does not answer when nothing listens on its socket', async () => {
    const nowhere = new Docker({ socketPath: `/tmp/runnerops-no-engine-${randomBytes(4).toString('hex')}.sock` });
    const failure = run(payload({}), context('gitlabnix', nowhere));
    await expect(failure).rejects.toBeInstanceOf(PermanentJobError);
    await expect(failure).rejects.toThrow(/^Docker Engine does not answer at unix:\/\/.*check that dockerd is running/);
  });
});

describe('payloadSchema', () => {
  it('fills the defaults: dangling images, networks, an hour of grace and the default protect label', () => {
    expect(payloadSchema.parse({})).toMatchObject({
      dryRun: false,
      untilSeconds: 3600,
      volumes: false,
      namedVolumes: false,
      images: 'dangling',
      buildCache: false,
      networks: true,
      protectLabel: 'runnerops.keep=true',
    });
  });

  it('refuses a protect label with spaces', () => {
    expect(() => payloadSchema.parse({ protectLabel: 'keep me' })).toThrow(/protectLabel/);
  });
});

describe('summarizeAll', () => {
  it('adds up what every host reclaimed, by kind', async () => {
    const { summarizeAll } = await import('../../jobs/prune-docker.js');
    const host = (bytes: number) => ({
      host: 'h',
      dryRun: false,
      apiVersion: '1.41',
      containers: { count: 1, bytes, items: [] },
      images: { count: 1, bytes: 2 * bytes, items: [] },
      volumes: { count: 0, bytes: 0, items: [], unmeasured: 0 },
      networks: { count: 0, bytes: 0, items: [] },
      totalBytes: 3 * bytes,
      skipped: { inUse: 0, gone: 0 },
      kept: {} as never,
      durationMs: 5,
    });
    expect(summarizeAll([host(1024 ** 2), host(2 * 1024 ** 2)])).toBe('reclaimed 9.0 MiB on 2 hosts (containers 3.0 MiB, images 6.0 MiB)');
  });
});

describe('run with --images lru', () => {
  // A dockerd on a tmpfs of its own: free space moves only with what this test adds and removes.
  let tiny: TinyDockerd;
  const MB = 1 << 20;

  beforeAll(async () => {
    tiny = await startTinyDockerd(96);
  });
  afterAll(async () => {
    await tiny?.stop();
  });

  /** An image of `mb` MiB of random bytes (one layer of its own), tagged, with optional `changes`. */
  const stage = (n: number, changes: string[] = []): Promise<string> =>
    importFilesImage(tiny.docker, { blob: randomBytes(4 * MB) }, { tag: `lru/image-${n}:v1`, changes: ['CMD ["/blob"]', ...changes] });

  it("evicts the least recently used images until the target, never one in use, protected or the nix-daemon's, and the dry run lists just those", async () => {
    const ids: string[] = [];
    for (let n = 0; n < 8; n++) ids.push(await stage(n, n === 1 ? ['LABEL runnerops.keep=true'] : []));
    // Known uses, oldest first: 0 (a container uses it), 1 (protected), 2 (the nix-daemon's), then 5, 3, 7, 4, 6.
    const order = [0, 1, 2, 5, 3, 7, 4, 6];
    const lastUse = new Map(order.map((n, rank) => [defined(ids[n], `image ${n}`), Date.parse('2026-01-01T00:00:00Z') + rank * 60_000]));
    await tiny.docker.createContainer({ Image: defined(ids[0], 'image 0'), name: 'lru-user', HostConfig: { NetworkMode: 'none' } });
    await tiny.docker.createContainer({ Image: defined(ids[2], 'image 2'), name: 'lru-gitlabnix', HostConfig: { NetworkMode: 'none' } });
    const ctx = { ...context('lru-gitlabnix', tiny.docker), imageUse: { lastUsed: () => lastUse } };
    const free = (await statfs(tiny.dataRoot)).bavail * (await statfs(tiny.dataRoot)).bsize;
    // Two and a half images' worth more free space: three images must go.
    const targetFreeBytes = free + Math.round(2.5 * 4 * MB);

    const dry = await run(payload({ images: 'lru', targetFreeBytes, dryRun: true, networks: false }), ctx);
    expect(dry.lru!.evicted.map((e) => e.id)).toEqual([ids[5], ids[3], ids[7]]);
    expect(dry.lru!.evicted.map((e) => e.lastUsedAt)).toEqual([3, 4, 5].map((rank) => Date.parse('2026-01-01T00:00:00Z') + rank * 60_000));
    expect(dry.images.count).toBe(3);
    expect((await tiny.docker.listImages()).length).toBe(8);

    const real = await run(payload({ images: 'lru', targetFreeBytes, networks: false }), ctx);
    expect(real.lru!.evicted).toEqual(dry.lru!.evicted);
    expect(real.images.items).toEqual(dry.images.items);
    expect(real.images.bytes).toBe(dry.images.bytes);
    const left = new Set((await tiny.docker.listImages()).map((i) => i.Id));
    expect([...left].sort()).toEqual([ids[0], ids[1], ids[2], ids[4], ids[6]].sort());
    expect(real.disk!.freeAfter).toBeGreaterThanOrEqual(targetFreeBytes - 64 * 1024);
    expect(summarize(real)).toMatch(/^removed 3 images .*; images least recently used first, 3 of 5 unused, for .* more free \(target /);
  });

  it('evicts nothing when the target is already free, and ranks images it never saw used by their creation time', async () => {
    const ctx = { ...context('lru-gitlabnix', tiny.docker), imageUse: { lastUsed: () => new Map<string, number>() } };
    const nothing = await run(payload({ images: 'lru', targetFreePercent: 1, dryRun: true, networks: false }), ctx);
    expect(nothing.images.count).toBe(0);
    expect(summarize(nothing)).toContain('already free');
    const everything = await run(payload({ images: 'lru', targetFreePercent: 95, dryRun: true, networks: false }), ctx);
    const created = new Map((await tiny.docker.listImages()).map((i) => [i.Id, i.Created]));
    const evicted = everything.lru!.evicted.map((e) => e.id);
    expect(evicted).toHaveLength(2);
    expect(evicted.map((id) => created.get(id)!)).toEqual([...evicted.map((id) => created.get(id)!)].sort((a, b) => a - b));
  });
});
