import { stat, statfs } from 'node:fs/promises';
import type Docker from 'dockerode';
import type { Redis } from 'ioredis';
import { findHostJob } from '../../jobs/index.js';
import * as pruneDocker from '../../jobs/prune-docker.js';
import * as gcStore from '../../jobs/gc-store.js';
import { readDataRoot } from '../clients/docker/data-root-space.js';
import { locateStore } from '../clients/nix-store/locate-store.js';
import { formatDuration, parseDuration } from '../commands/duration.js';
import type { WorkerSettings } from '../config.js';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { formatBytes } from '../present/format.js';
import { publishNotice, type Notice } from '../queue/notices.js';
import { effectiveWatch, readWatchSettings, type WatchSettings } from '../queue/watch-settings.js';
import type { KeyRing, Signer } from '../queue/signing-keys.js';
import type { JobContext } from '../../jobs/job-context.js';

type PrunePayload = pruneDocker.Payload;
type PruneResult = pruneDocker.Result;
type GcPayload = gcStore.Payload;
type GcResult = gcStore.Result;

/** Free space of one filesystem the watch looks after. */
export interface FilesystemUse {
  label: 'Docker data root' | 'Nix store';
  path: string;
  /** st_dev of the path: equal devices are one filesystem. */
  device: number;
  /** Bytes available to unprivileged writers (what `df` calls Avail). */
  freeBytes: number;
  /** Avail / (Used + Avail), as `df` computes Use%. */
  freePercent: number;
}

/** One prune pass: the age limit it used and what it reclaimed. */
export interface PrunePass {
  untilSeconds: number;
  result: PruneResult;
}

/** One Nix garbage collection the watch ran, and what it freed. */
export interface GcPass {
  maxFreedBytes: number;
  result: GcResult;
}

export interface WatchCheck {
  /** `cannot-help`: only a filesystem Docker does not live on is low (e.g. the Nix store on its own disk). */
  outcome: 'disabled' | 'ok' | 'pruned' | 'still-low' | 'failed' | 'cannot-help';
  before: FilesystemUse[];
  after: FilesystemUse[];
  passes: PrunePass[];
  /** Nix garbage collections, when the policy lets the watch collect (watch.gc) and the store's filesystem stayed low. */
  gc?: GcPass[];
  /** The notice published for this check, if any. */
  notice?: Notice;
}

export interface DiskPressureWatchDeps {
  /** The host's own limits (`watch`, `protectLabel`, `pruneNamedVolumes`) bound whatever the policy says. */
  settings: Pick<WorkerSettings, 'host' | 'nixStoreDir' | 'nixStateDir' | 'nixDaemonContainer' | 'watch' | 'protectLabel' | 'pruneNamedVolumes'>;
  /** Signs the notices this watch publishes (the host key). */
  signer: Signer;
  /** Bot keys from the worker's config: published watch settings count only when a bot signed them. */
  botKeys: KeyRing;
  docker: Docker;
  redis: Redis;
  prefix: string;
  log: Logger;
  /** Policy watch settings; when absent the bot-signed ones are read from Redis before each check. Either way the host's limits bound them. */
  policy?: WatchSettings;
  /** One prune-docker pass on this host (pruneWithJob builds it from the job's run()). */
  prune: (payload: PrunePayload) => Promise<PruneResult>;
  /** One gc-store run on this host (gcWithJob builds it); with the policy's watch.gc, the watch collects Nix garbage when the store's filesystem is low. */
  gc?: (payload: GcPayload) => Promise<GcResult>;
  /** Evict images least recently used first before the age passes (the worker records image use). @defaultValue false */
  evictLru?: boolean;
  /** The worker's exclusive locks (createExclusiveLocks), shared with its jobs so a prune job and the watch never overlap. */
  runExclusive: <T>(group: string | undefined, work: () => Promise<T>) => Promise<T>;
  /** Clock for notices. @defaultValue Date.now */
  now?: () => number;
  /** Age limits of the prune passes, oldest objects first, in seconds. @defaultValue 30d, 7d, 1d, 6h, 1h, 0 */
  ageTiersSeconds?: number[];
  /** Time between checks; overrides the policy's `interval`. @defaultValue the policy's interval (5m) */
  intervalMs?: number;
  /** Time between looks for settings while the watch is off or no bot published any. @defaultValue 60000 */
  idleMs?: number;
  /** Delay of the first check after start (lets the worker settle). @defaultValue 10000 */
  firstCheckMs?: number;
}

const DEFAULT_TIERS = [30 * 86400, 7 * 86400, 86400, 6 * 3600, 3600, 0];

/** The prune function the watch uses in a worker: prune-docker's run() with no progress reporting. */
export function pruneWithJob(
  ctx: Pick<JobContext, 'host' | 'docker' | 'settings' | 'log'> & Partial<Pick<JobContext, 'imageUse'>>,
): (payload: PrunePayload) => Promise<PruneResult> {
  return (payload) => pruneDocker.run(payload, { ...ctx, progress: async () => undefined });
}

/** The GC function the watch uses in a worker: gc-store's run() with no progress reporting. */
export function gcWithJob(ctx: Pick<JobContext, 'host' | 'docker' | 'settings' | 'log'>): (payload: GcPayload) => Promise<GcResult> {
  return (payload) => gcStore.run(payload, { ...ctx, progress: async () => undefined });
}

async function measure(label: FilesystemUse['label'], path: string): Promise<FilesystemUse | undefined> {
  try {
    const [fs, st] = await Promise.all([statfs(path), stat(path)]);
    const used = (fs.blocks - fs.bfree) * fs.bsize;
    const free = fs.bavail * fs.bsize;
    return { label, path, device: st.dev, freeBytes: free, freePercent: used + free > 0 ? (free / (used + free)) * 100 : 100 };
  } catch {
    return undefined;
  }
}

const percent = (p: number): string => `${p.toFixed(1)}%`;
const describeFs = (f: FilesystemUse): string => `${f.label} ${f.path} has ${percent(f.freePercent)} free (${formatBytes(f.freeBytes)})`;

function describeTier(seconds: number): string {
  return seconds === 0 ? 'all unused' : `unused for ${formatDuration(seconds)}`;
}

function reclaimed(passes: PrunePass[]): string {
  const sum = (pick: (r: PruneResult) => number) => passes.reduce((total, p) => total + pick(p.result), 0);
  const kinds: Array<[string, number]> = [
    ['images', sum((r) => r.images.bytes)],
    ['volumes', sum((r) => r.volumes.bytes)],
    ['build cache', sum((r) => r.buildCache?.bytes ?? 0)],
    ['containers', sum((r) => r.containers.bytes)],
  ];
  const parts = kinds.filter(([, bytes]) => bytes > 0).map(([name, bytes]) => `${name} ${formatBytes(bytes)}`);
  return `reclaimed ${formatBytes(sum((r) => r.totalBytes))}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

/**
 * Watches free space of Docker's data root and of the Nix store on this host. Below the policy's
 * `minFreePercent` it prunes Docker in passes from the oldest objects to the newest (images, volumes,
 * build cache, exited containers; protected objects and the nix-daemon container never), stopping once
 * the filesystem is back above `targetFreePercent`, inside the same exclusive group as prune-docker so two
 * prunes never run at once here. Each prune, and each low filesystem Docker cannot free, becomes a notice
 * the bot posts.
 *
 * Where the worker records image use (`evictLru`), the first pass evicts images least recently used
 * first, one at a time, just until the target; the age passes follow only if that was not enough. With
 * the policy's `watch.gc`, a Nix store that stays low (on its own disk, or sharing Docker's as the seed's
 * gitlabnix volume does) is collected through its daemon, at most what the target needs.
 */
export function startDiskPressureWatch(deps: DiskPressureWatchDeps): { check: () => Promise<WatchCheck>; stop: () => Promise<void> } {
  const { log } = deps;
  const clock = deps.now ?? Date.now;
  const tiers = deps.ageTiersSeconds ?? DEFAULT_TIERS;
  const group = findHostJob(pruneDocker.name)?.exclusive ?? 'docker';
  /** Low filesystems already reported as beyond help, so a lasting condition is told once. */
  let toldLow = new Set<string>();

  const notify = async (outcome: Notice['outcome'], summary: string, result: unknown): Promise<Notice> => {
    const notice: Notice = {
      source: 'disk-pressure-watch',
      host: deps.settings.host,
      at: clock(),
      outcome,
      summary: `${deps.settings.host}: ${summary}`,
      result,
    };
    await publishNotice(deps.redis, deps.prefix, deps.signer, notice);
    return notice;
  };

  /** Collects Nix garbage until `fs` is back at the target (at most what that needs), when the policy lets the watch. */
  /** Which store lives on `fs`: the one gc-store finds by itself (the nix-daemon container's), the host's own, or none. */
  const storeOn = async (fs: FilesystemUse): Promise<gcStore.Payload['store'] | undefined> => {
    const device = async (dir: string): Promise<number | undefined> => (await stat(dir).catch(() => undefined))?.dev;
    const located = await locateStore(deps.docker, deps.settings, 'auto').catch(() => undefined);
    if (located && (await device(located.storeDir)) === fs.device) return 'auto';
    if ((await device(deps.settings.nixStoreDir)) === fs.device) return 'host';
    return undefined;
  };
  const collect = async (settings: WatchSettings, fs: FilesystemUse): Promise<GcPass[]> => {
    if (!deps.gc || !settings.gc) return [];
    const store = await storeOn(fs);
    if (store === undefined) return [];
    const current = (await measure(fs.label, fs.path)) ?? fs;
    const total = current.freePercent > 0 ? current.freeBytes / (current.freePercent / 100) : 0;
    const maxFreedBytes = Math.max(1, Math.ceil((total * settings.targetFreePercent) / 100 - current.freeBytes));
    const gc = deps.gc;
    const result = await deps.runExclusive(gcStore.exclusive, () => gc(gcStore.payloadSchema.parse({ maxFreedBytes, store })));
    return [{ maxFreedBytes, result }];
  };
  const gcText = (gc: GcPass[]): string =>
    gc.length === 0
      ? ''
      : `; collected Nix garbage: ${gc.map((g) => `${g.result.deleted?.count ?? 0} paths, ${formatBytes(g.result.deleted?.freedBytes ?? 0)} freed`).join(', ')}`;

  const measureAll = async (): Promise<{ docker?: FilesystemUse; all: FilesystemUse[] }> => {
    const dataRoot = await readDataRoot(deps.docker).catch((err: unknown) => {
      log.warn({ err }, 'could not ask Docker for its data root');
      return undefined;
    });
    const dockerFs = dataRoot ? await measure('Docker data root', dataRoot) : undefined;
    const nixFs = await measure('Nix store', deps.settings.nixStoreDir);
    return { ...(dockerFs ? { docker: dockerFs } : {}), all: [dockerFs, nixFs].filter((f): f is FilesystemUse => f !== undefined) };
  };

  const runCheck = async (settings: WatchSettings): Promise<WatchCheck> => {
    const before = await measureAll();
    const low = before.all.filter((f) => f.freePercent < settings.minFreePercent);
    if (low.length === 0) {
      toldLow = new Set();
      return { outcome: 'ok', before: before.all, after: before.all, passes: [] };
    }
    const dockerDevice = before.docker?.device;
    const helpable = low.filter((f) => f.device === dockerDevice);
    if (helpable.length === 0) {
      const nixLow = low.find((f) => f.label === 'Nix store');
      if (nixLow && deps.gc && settings.gc) {
        try {
          const gc = await collect(settings, nixLow);
          const after = (await measureAll()).all;
          const now = after.find((f) => f.label === 'Nix store') ?? nixLow;
          const recovered = now.freePercent >= settings.targetFreePercent;
          const summary = `disk pressure: ${describeFs(nixLow)} (below ${settings.minFreePercent}%)${gcText(gc)}; ${recovered ? 'now' : 'still'} ${percent(now.freePercent)} free (target ${settings.targetFreePercent}%)`;
          const outcome = recovered ? 'pruned' : 'still-low';
          return { outcome, before: before.all, after, passes: [], gc, notice: await notify(outcome, summary, { before: before.all, after }) };
        } catch (err) {
          log.error({ err }, 'the disk-pressure GC failed');
          const notice = await notify('failed', `disk pressure: ${describeFs(nixLow)}; collecting Nix garbage failed: ${describeError(err)}`, {
            before: before.all,
          });
          return { outcome: 'failed', before: before.all, after: before.all, passes: [], notice };
        }
      }
      const fresh = low.filter((f) => !toldLow.has(f.path));
      low.forEach((f) => toldLow.add(f.path));
      const base: WatchCheck = { outcome: 'cannot-help', before: before.all, after: before.all, passes: [] };
      if (fresh.length === 0) return base;
      const what = fresh.map(describeFs).join('; ');
      const hint = fresh.some((f) => f.label === 'Nix store')
        ? ': collect Nix garbage ("gc <host>", or let the watch do it with the policy\'s watch.gc) or grow the disk'
        : '';
      return {
        ...base,
        notice: await notify(
          'still-low',
          `disk pressure: ${what} (below ${settings.minFreePercent}%); it is not on Docker's filesystem, so pruning Docker cannot free it${hint}`,
          { before: before.all },
        ),
      };
    }

    const opening = `disk pressure: ${helpable.map(describeFs).join('; ')} (below ${settings.minFreePercent}%)`;
    const passes: PrunePass[] = [];
    let gc: GcPass[] = [];
    try {
      await deps.runExclusive(group, async () => {
        if (deps.evictLru) {
          // Images least recently used first, just until the target; the age passes follow only if that is not enough.
          const payload = pruneDocker.payloadSchema.parse({
            dryRun: false,
            untilSeconds: tiers[0] ?? 0,
            images: 'lru',
            targetFreePercent: settings.targetFreePercent,
            volumes: false,
            buildCache: false,
            networks: false,
            protectLabel: settings.prune.protectLabel,
          });
          passes.push({ untilSeconds: payload.untilSeconds, result: await deps.prune(payload) });
          const now = await measure('Docker data root', before.docker!.path);
          if (now && now.freePercent >= settings.targetFreePercent) return;
        }
        for (const untilSeconds of tiers) {
          const payload = pruneDocker.payloadSchema.parse({
            dryRun: false,
            untilSeconds,
            images: 'unused',
            volumes: true,
            namedVolumes: settings.prune.namedVolumes,
            buildCache: true,
            networks: true,
            protectLabel: settings.prune.protectLabel,
          });
          passes.push({ untilSeconds, result: await deps.prune(payload) });
          const now = await measure('Docker data root', before.docker!.path);
          if (now && now.freePercent >= settings.targetFreePercent) break;
        }
      });
      // Still low: a Nix store on this filesystem (the seed's gitlabnix keeps its store in a Docker volume) is collected too.
      const still = await measure('Docker data root', before.docker!.path);
      if (still && still.freePercent < settings.targetFreePercent) gc = await collect(settings, still);
    } catch (err) {
      log.error({ err }, 'the disk-pressure prune failed');
      const after = (await measureAll()).all;
      const done = passes.length > 0 ? `; ${reclaimed(passes)} before that` : '';
      const notice = await notify('failed', `${opening}; pruning failed: ${describeError(err)}${done}`, {
        before: before.all,
        after,
        passes: passes.map((p) => ({ untilSeconds: p.untilSeconds, totalBytes: p.result.totalBytes })),
      });
      return { outcome: 'failed', before: before.all, after, passes, notice };
    }
    const after = await measureAll();
    const freed = after.docker ?? before.docker!;
    const recovered = freed.freePercent >= settings.targetFreePercent;
    const how = `pruned ${passes.map((p) => (p.result.lru ? 'least recently used images' : describeTier(p.untilSeconds))).join(', then ')}: ${reclaimed(passes)}${gcText(gc)}`;
    const summary = recovered
      ? `${opening}; ${how}; now ${percent(freed.freePercent)} free (target ${settings.targetFreePercent}%)`
      : `${opening}; ${how}; still ${percent(freed.freePercent)} free (target ${settings.targetFreePercent}%): Docker has nothing more unused to remove; look at running containers, named volumes (policy prune.namedVolumes) and the Nix store`;
    const reclaimedBytes = passes.reduce((sum, p) => sum + p.result.totalBytes, 0) + gc.reduce((sum, g) => sum + (g.result.deleted?.freedBytes ?? 0), 0);
    const outcome = recovered ? 'pruned' : 'still-low';
    const repeat = !recovered && reclaimedBytes === 0 && toldLow.has(freed.path);
    if (!recovered) toldLow.add(freed.path);
    const base: WatchCheck = { outcome, before: before.all, after: after.all, passes, ...(gc.length > 0 ? { gc } : {}) };
    if (repeat) return base;
    const detail = { before: before.all, after: after.all, passes: passes.map((p) => ({ untilSeconds: p.untilSeconds, totalBytes: p.result.totalBytes })) };
    return { ...base, notice: await notify(outcome, summary, detail) };
  };

  let tail: Promise<unknown> = Promise.resolve();
  let current: WatchSettings | undefined;
  /** Checks run one at a time (the timer's and any caller's). */
  const check = (): Promise<WatchCheck> => {
    const next = tail.then(async () => {
      const published =
        deps.policy ??
        (await readWatchSettings(deps.redis, deps.prefix, deps.botKeys).catch((err: unknown) => {
          log.warn({ err }, 'ignoring watch settings no bot signed');
          return undefined;
        }));
      current = effectiveWatch(
        { ...deps.settings.watch, protectLabel: deps.settings.protectLabel, pruneNamedVolumes: deps.settings.pruneNamedVolumes },
        published,
      );
      if (!current?.enabled) return { outcome: 'disabled', before: [], after: [], passes: [] } satisfies WatchCheck;
      return runCheck(current);
    });
    tail = next.catch(() => undefined);
    return next;
  };

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const loop = async (): Promise<void> => {
    try {
      const result = await check();
      if (result.notice) log.info({ outcome: result.outcome }, result.notice.summary);
    } catch (err) {
      log.warn({ err }, 'disk-pressure check failed');
    }
    if (stopped) return;
    let delay = deps.idleMs ?? 60_000;
    try {
      if (current?.enabled) delay = parseDuration(current.interval, 'watch.interval') * 1000;
    } catch (err) {
      log.warn({ err }, 'the watch interval is not valid; checking every minute');
    }
    timer = setTimeout(() => {
      running = loop();
    }, deps.intervalMs ?? delay);
  };
  // loop() catches what a check throws; stop() awaits `running`.
  timer = setTimeout(() => {
    running = loop();
  }, deps.firstCheckMs ?? 10_000);

  return {
    check,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
      await tail;
    },
  };
}
