import type { HostEntry } from '../src/queue/host-registry.js';
import type Docker from 'dockerode';
import type { JobContext } from './job-context.js';
import { formatBytes, formatMs } from '../src/present/format.js';
import { readDataRoot, readDataRootSpace } from '../src/clients/docker/data-root-space.js';
import { toJobError } from '../src/clients/docker/docker-error.js';
import { freedImageBytes } from './prune-docker/freed-image-bytes.js';
import { createLimiter, mapLimit } from '../src/clients/docker/map-limit.js';
import { measureDirectory } from '../src/clients/docker/measure-directory.js';
import { planPrune, type KeepReason, type PrunePlan } from './prune-docker/plan-prune.js';
import { callPrune } from '../src/clients/docker/prune-call.js';
import { readDiskUsage } from '../src/clients/docker/read-disk-usage.js';
import { readPruneState, type ImageFacts, type PruneState } from '../src/clients/docker/read-prune-state.js';
import { removeContainer, removeImage, removeNetwork, removeVolume, type RemoveOutcome } from '../src/clients/docker/remove-object.js';
import type { Payload } from '../src/queue/payloads/prune-docker.js';
import path from 'node:path';
import { planLruEviction, targetFreeBytes } from './prune-docker/plan-lru-eviction.js';
import { PermanentJobError } from '../src/errors.js';
import { IMAGE_USE_FILE, readImageUseFile } from '../src/clients/docker/image-use-log.js';

export { name, payloadSchema, type Payload } from '../src/queue/payloads/prune-docker.js';
/** Never two prunes at once on a host (the disk-pressure watch takes the same lock). */
export const exclusive = 'docker';

/** One kind of object: how many went (or would go), their bytes, and the first names. */
export interface KindReport {
  count: number;
  bytes: number;
  /** Up to 50 names or short ids. */
  items: string[];
}

export interface Result {
  host: string;
  dryRun: boolean;
  apiVersion: string;
  containers: KindReport;
  images: KindReport;
  /** `unmeasured`: volumes whose directory this process cannot read (bytes not counted). */
  volumes: KindReport & { unmeasured: number };
  networks: KindReport;
  buildCache?: KindReport;
  totalBytes: number;
  /** Planned removals the engine refused because the object came into use, or that were already gone. */
  skipped: { inUse: number; gone: number };
  /** Objects kept although the flags asked for their kind, by reason. */
  kept: Record<KeepReason, number>;
  /** With `images: 'lru'`: the target, what it needed, and the evicted images in the order they went (least recently used first; at most 200). */
  lru?: {
    targetFreeBytes: number;
    freeBefore: number;
    neededBytes: number;
    predictedBytes: number;
    /** Unused, unprotected images it could choose from. */
    candidates: number;
    evicted: Array<{ id: string; label: string; lastUsedAt: number }>;
  };
  /** Free bytes of the filesystem holding Docker's data root (absent when this process cannot see it). */
  disk?: { dataRoot: string; freeBefore: number; freeAfter: number };
  durationMs: number;
}

type Ctx = Pick<JobContext, 'host' | 'docker' | 'settings' | 'progress' | 'log'> & Partial<Pick<JobContext, 'imageUse'>>;

const MAX_ITEMS = 50;
const shortId = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);
const imageLabel = (image: ImageFacts): string => (image.tags[0] ? `${shortId(image.id)} (${image.tags[0]})` : shortId(image.id));

function report(items: string[], bytes: number): KindReport {
  return { count: items.length, bytes, items: items.slice(0, MAX_ITEMS) };
}

/** Untagged parents whose children all go are released by the engine too: count their layers. */
function withReleasedParents(images: readonly ImageFacts[], removed: ReadonlySet<string>): Set<string> {
  const result = new Set(removed);
  const children = new Map<string, string[]>();
  for (const image of images) if (image.parentId) children.set(image.parentId, [...(children.get(image.parentId) ?? []), image.id]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const image of images) {
      if (result.has(image.id) || image.refs.length > 0) continue;
      const kids = children.get(image.id);
      if (kids && kids.every((k) => result.has(k))) {
        result.add(image.id);
        grew = true;
      }
    }
  }
  return result;
}

function imageBytes(state: PruneState, removed: ReadonlySet<string>): number {
  return freedImageBytes(state.images, withReleasedParents(state.images, removed));
}

/** Candidate images grouped by family (shared parent chain), children first, so removals never race. */
function imageFamilies(state: PruneState, images: readonly ImageFacts[]): ImageFacts[][] {
  const byId = new Map(state.images.map((i) => [i.id, i]));
  const rootOf = (image: ImageFacts): { root: string; depth: number } => {
    let cur = image;
    let depth = 0;
    for (let parent = byId.get(cur.parentId); parent; parent = byId.get(cur.parentId)) {
      cur = parent;
      depth++;
    }
    return { root: cur.id, depth };
  };
  const families = new Map<string, Array<{ image: ImageFacts; depth: number }>>();
  for (const image of images) {
    const { root, depth } = rootOf(image);
    families.set(root, [...(families.get(root) ?? []), { image, depth }]);
  }
  return [...families.values()].map((members) => members.sort((a, b) => b.depth - a.depth).map((m) => m.image));
}

async function measureVolumes(plan: PrunePlan, signal: AbortSignal): Promise<Map<string, number | undefined>> {
  const sizes = await mapLimit(plan.volumes, 4, (v) => (v.driver === 'local' ? measureDirectory(v.mountpoint) : Promise.resolve(undefined)), signal);
  return new Map(plan.volumes.map((v, i) => [v.name, sizes[i]]));
}

function volumeReport(names: string[], sizes: Map<string, number | undefined>): Result['volumes'] {
  const measured = names.map((n) => sizes.get(n));
  return {
    ...report(
      names,
      measured.reduce<number>((sum, s) => sum + (s ?? 0), 0),
    ),
    unmeasured: measured.filter((s) => s === undefined).length,
  };
}

/** Build cache a dry run would list: not in use and not used since the cutoff (the engine's own rule). */
async function planBuildCache(docker: Docker, state: PruneState, payload: Payload, signal: AbortSignal): Promise<KindReport> {
  const usage = await readDiskUsage(docker, state.apiVersion, ['build-cache'], signal);
  const cutoff = state.readAt - payload.untilSeconds * 1000;
  const records = (usage.BuildCache ?? []).filter((r) => !r.InUse && (payload.untilSeconds === 0 || Date.parse(r.LastUsedAt ?? r.CreatedAt) < cutoff));
  return report(
    records.map((r) => r.ID),
    records.reduce((sum, r) => sum + r.Size, 0),
  );
}

function pruneBuildCache(docker: Docker, payload: Payload, signal: AbortSignal): Promise<KindReport> {
  const filters: Record<string, string[]> = payload.untilSeconds > 0 ? { until: [`${payload.untilSeconds}s`] } : {};
  return callPrune(docker, 'build', { all: true, filters, signal }).then((r) => report(r.deleted, r.spaceReclaimed));
}

interface Execution {
  containers: string[];
  images: Set<string>;
  volumes: string[];
  networks: string[];
  skipped: { inUse: number; gone: number };
  /** Sizes measured before removal (undefined: unreadable). */
  volumeSizes: Map<string, number | undefined>;
}

/**
 * Removes the plan: containers first, and each image, volume or network as soon as the containers that
 * used it are gone; everything else in parallel, at most `concurrency` engine calls at a time.
 */
async function executePlan(docker: Docker, state: PruneState, plan: PrunePlan, payload: Payload, ctx: Ctx, signal: AbortSignal): Promise<Execution> {
  const limit = createLimiter(payload.concurrency);
  const done: Execution = { containers: [], images: new Set(), volumes: [], networks: [], skipped: { inUse: 0, gone: 0 }, volumeSizes: new Map() };
  const tally = (outcome: RemoveOutcome, onRemoved: () => void): void => {
    if (outcome === 'removed') onRemoved();
    else if (outcome === 'gone') done.skipped.gone++;
    else done.skipped.inUse++;
  };
  const guarded = <T>(fn: () => Promise<T>): Promise<T> =>
    limit(async () => {
      signal.throwIfAborted();
      return fn();
    });

  const containerGone = new Map<string, Promise<boolean>>();
  for (const c of plan.containers) {
    containerGone.set(
      c.id,
      guarded(() => removeContainer(docker, c.id)).then((outcome) => {
        tally(outcome, () => done.containers.push(c.id));
        return outcome !== 'in-use';
      }),
    );
  }
  const after = async (ids: string[]): Promise<boolean> => (await Promise.all(ids.map((id) => containerGone.get(id) ?? true))).every(Boolean);
  const users = (test: (c: PrunePlan['containers'][number]) => boolean): string[] => plan.containers.filter(test).map((c) => c.id);

  const total = plan.containers.length + plan.images.length + plan.volumes.length + plan.networks.length;
  const timer = setInterval(() => {
    const removed = done.containers.length + done.images.size + done.volumes.length + done.networks.length;
    ctx.progress({ phase: 'removing', detail: `${removed}/${total}` }).catch((err: unknown) => ctx.log.warn({ err }, 'progress update failed'));
  }, 1000);
  try {
    const volumeSizes = measureVolumes(plan, signal);
    await Promise.all([
      ...containerGone.values(),
      ...imageFamilies(state, plan.images).map(async (family) => {
        const familyIds = new Set(family.map((i) => i.id));
        if (!(await after(users((c) => familyIds.has(c.imageId))))) {
          done.skipped.inUse += family.length;
          return;
        }
        for (const image of family) tally(await guarded(() => removeImage(docker, image)), () => done.images.add(image.id));
      }),
      ...plan.volumes.map(async (v) => {
        if (!(await after(users((c) => c.volumes.includes(v.name))))) return void done.skipped.inUse++;
        await volumeSizes;
        tally(await guarded(() => removeVolume(docker, v.name)), () => done.volumes.push(v.name));
      }),
      ...plan.networks.map(async (n) => {
        if (!(await after(users((c) => c.networkIds.includes(n.id))))) return void done.skipped.inUse++;
        tally(await guarded(() => removeNetwork(docker, n.id)), () => done.networks.push(n.name));
      }),
    ]);
    done.volumeSizes = await volumeSizes;
  } finally {
    clearInterval(timer);
  }
  return done;
}

/**
 * Prunes this host's Docker Engine by the payload's flags, never touching the nix-daemon container, its
 * image and volumes, protected objects, or images and volumes in use. A dry run reports the same plan
 * (and bytes) the real run would carry out.
 */
export async function run(payload: Payload, ctx: Ctx, signal: AbortSignal = new AbortController().signal): Promise<Result> {
  const started = performance.now();
  const { docker } = ctx;
  try {
    await ctx.progress({ phase: 'reading engine state' });
    const dataRootPromise = readDataRoot(docker);
    const [state, before] = await Promise.all([readPruneState(docker, signal), dataRootPromise.then(readDataRootSpace)]);
    const namedVolumes = payload.namedVolumes && ctx.settings.pruneNamedVolumes;
    const lruMode = payload.images === 'lru';
    const basePlan = planPrune(state, {
      untilSeconds: payload.untilSeconds,
      // LRU ranks the unused images by last use; their age plays no part.
      images: lruMode ? 'unused' : (payload.images as 'dangling' | 'unused' | 'none'),
      ...(lruMode ? { imageUntilSeconds: 0 } : {}),
      volumes: payload.volumes || namedVolumes,
      namedVolumes,
      youngCacheVolumes: payload.youngCacheVolumes,
      networks: payload.networks,
      // The worker's own limits hold whatever the job asks: its protect label always, named volumes only where allowed.
      protectLabel: ctx.settings.protectLabel,
      alsoProtect: payload.protectLabel === ctx.settings.protectLabel ? [] : [payload.protectLabel],
      nixDaemonContainer: ctx.settings.nixDaemonContainer,
    });
    let plan = basePlan;
    let lru: Result['lru'];
    if (lruMode) {
      if (!before) {
        throw new PermanentJobError(
          `cannot see the free space of Docker's data root on ${ctx.host}, which an LRU eviction to a free-space target needs; run the worker where the data root is visible`,
        );
      }
      if (payload.targetFreePercent === undefined && payload.targetFreeBytes === undefined) {
        throw new PermanentJobError('--images lru needs a free-space target, e.g. --target-free 20%');
      }
      const lastUse =
        ctx.imageUse?.lastUsed() ??
        (ctx.settings.stateDir ? (await readImageUseFile(path.join(ctx.settings.stateDir, IMAGE_USE_FILE))).images : new Map<string, number>());
      const target = targetFreeBytes({ percent: payload.targetFreePercent, bytes: payload.targetFreeBytes }, before.totalBytes);
      const neededBytes = Math.max(0, target - before.freeBytes);
      const eviction = planLruEviction(basePlan.images, lastUse, neededBytes, (removed) => imageBytes(state, removed));
      plan = { ...basePlan, images: eviction.images };
      lru = {
        targetFreeBytes: target,
        freeBefore: before.freeBytes,
        neededBytes,
        predictedBytes: eviction.predictedBytes,
        candidates: basePlan.images.length,
        evicted: eviction.images
          .slice(0, 200)
          .map((image, i) => ({ id: image.id, label: imageLabel(image), lastUsedAt: eviction.lastUsedAt[i] ?? image.createdAt })),
      };
    }
    const containerBytes = (ids: Set<string>): number => plan.containers.reduce((sum, c) => sum + (ids.has(c.id) ? (c.sizeRw ?? 0) : 0), 0);
    const base = { host: ctx.host, dryRun: payload.dryRun, apiVersion: state.apiVersion, kept: plan.kept, ...(lru ? { lru } : {}) };

    let result: Omit<Result, 'disk' | 'durationMs' | 'totalBytes'>;
    if (payload.dryRun) {
      await ctx.progress({ phase: 'measuring', detail: `${plan.containers.length + plan.images.length + plan.volumes.length} objects` });
      const [sizes, buildCache] = await Promise.all([
        measureVolumes(plan, signal),
        payload.buildCache ? planBuildCache(docker, state, payload, signal) : undefined,
      ]);
      result = {
        ...base,
        containers: report(
          plan.containers.map((c) => c.name),
          containerBytes(new Set(plan.containers.map((c) => c.id))),
        ),
        images: report(plan.images.map(imageLabel), imageBytes(state, new Set(plan.images.map((i) => i.id)))),
        volumes: volumeReport(
          plan.volumes.map((v) => v.name),
          sizes,
        ),
        networks: report(
          plan.networks.map((n) => n.name),
          0,
        ),
        ...(buildCache ? { buildCache } : {}),
        skipped: { inUse: 0, gone: 0 },
      };
    } else {
      await ctx.progress({
        phase: 'removing',
        detail: `${plan.containers.length} containers, ${plan.images.length} images, ${plan.volumes.length} volumes, ${plan.networks.length} networks`,
      });
      const [done, buildCache] = await Promise.all([
        executePlan(docker, state, plan, payload, ctx, signal),
        payload.buildCache ? pruneBuildCache(docker, payload, signal) : undefined,
      ]);
      const removedContainers = new Set(done.containers);
      result = {
        ...base,
        containers: report(
          plan.containers.filter((c) => removedContainers.has(c.id)).map((c) => c.name),
          containerBytes(removedContainers),
        ),
        images: report(plan.images.filter((i) => done.images.has(i.id)).map(imageLabel), imageBytes(state, done.images)),
        volumes: volumeReport(done.volumes, done.volumeSizes),
        networks: report(done.networks, 0),
        ...(buildCache ? { buildCache } : {}),
        skipped: done.skipped,
      };
    }
    const after = payload.dryRun ? before : await dataRootPromise.then(readDataRootSpace);
    const totalBytes = result.containers.bytes + result.images.bytes + result.volumes.bytes + (result.buildCache?.bytes ?? 0);
    return {
      ...result,
      totalBytes,
      ...(before && after ? { disk: { dataRoot: before.dataRoot, freeBefore: before.freeBytes, freeAfter: after.freeBytes } } : {}),
      durationMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    if (signal.aborted) throw err;
    throw toJobError(err, 'pruning', ctx.settings.dockerHost);
  }
}

function describeKind(label: string, kind: KindReport | undefined): string | undefined {
  if (!kind || kind.count === 0) return undefined;
  return `${kind.count} ${label}${kind.count === 1 ? '' : 's'} (${formatBytes(kind.bytes)})`;
}

export function summarize(result: Result): string {
  const parts = [
    describeKind('container', result.containers),
    describeKind('image', result.images),
    describeKind('volume', result.volumes),
    result.networks.count > 0 ? `${result.networks.count} network${result.networks.count === 1 ? '' : 's'}` : undefined,
    describeKind('build cache record', result.buildCache),
  ].filter((p): p is string => p !== undefined);
  const what = parts.length === 0 ? 'nothing to prune' : parts.join(', ');
  const keptTotal = Object.values(result.kept).reduce((a, b) => a + b, 0);
  const kept =
    keptTotal === 0
      ? ''
      : `; kept ${Object.entries(result.kept)
          .filter(([, n]) => n > 0)
          .map(([why, n]) => `${n} ${why}`)
          .join(', ')}`;
  const skipped = result.skipped.inUse > 0 ? `; ${result.skipped.inUse} came into use and stayed` : '';
  const lru = result.lru
    ? result.lru.neededBytes === 0
      ? `; ${formatBytes(result.lru.freeBefore)} already free, target ${formatBytes(result.lru.targetFreeBytes)}: no image evicted`
      : `; images least recently used first, ${result.lru.evicted.length} of ${result.lru.candidates} unused, for ${formatBytes(result.lru.neededBytes)} more free (target ${formatBytes(result.lru.targetFreeBytes)})`
    : '';
  if (result.dryRun) {
    const free = result.disk ? `; ${formatBytes(result.disk.freeBefore)} free now` : '';
    return `dry run: would remove ${what}${parts.length > 0 ? `: ${formatBytes(result.totalBytes)} in all` : ''}${lru}${kept}${free}`;
  }
  const disk = result.disk ? `; free ${formatBytes(result.disk.freeBefore)} -> ${formatBytes(result.disk.freeAfter)}` : '';
  return `${parts.length === 0 ? what : `removed ${what}: ${formatBytes(result.totalBytes)} reclaimed`}${lru}${kept}${skipped}${disk} in ${formatMs(result.durationMs)}`;
}

/** The total of a fan-out: bytes across every host that answered, by kind. */
export function summarizeAll(results: Result[]): string {
  const sum = (pick: (r: Result) => number) => results.reduce((n, r) => n + pick(r), 0);
  const dry = results.every((r) => r.dryRun);
  const kinds = [
    ['containers', sum((r) => r.containers.bytes)],
    ['images', sum((r) => r.images.bytes)],
    ['volumes', sum((r) => r.volumes.bytes)],
    ['build cache', sum((r) => r.buildCache?.bytes ?? 0)],
  ] as const;
  const byKind = kinds
    .filter(([, bytes]) => bytes > 0)
    .map(([kind, bytes]) => `${kind} ${formatBytes(bytes)}`)
    .join(', ');
  return `${dry ? 'would free' : 'reclaimed'} ${formatBytes(sum((r) => r.totalBytes))} on ${results.length} host${results.length === 1 ? '' : 's'}${byKind ? ` (${byKind})` : ''}`;
}

/** Docker's free space after the prune, for `hosts` and App Home. */
export function registryPatch(result: Result): Partial<HostEntry> {
  return result.disk ? { disk: { dockerFreeBytes: result.disk.freeAfter } } : {};
}
