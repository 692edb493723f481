import { createHash } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import type { HostEntry } from '../src/queue/host-registry.js';
import type { JobContext } from './job-context.js';
import { analyzeStore } from './store-usage/analyze-store.js';
import { chooseGarbage, type DeadPath } from './gc-store/choose-garbage.js';
import { NixGcError, collectAllGarbage, deleteDeadPaths, listDeadPaths, readDeadPaths, type Collected } from '../src/clients/nix-store/collect-garbage.js';
import { hostStore, locateStore, type StoreLocation } from '../src/clients/nix-store/locate-store.js';
import { nixInContainer, nixOnSocket, type NixCommand } from '../src/clients/nix-store/nix-command.js';
import { StoreReadError } from '../src/clients/nix-store/store-read-error.js';
import { toJobError } from '../src/clients/docker/docker-error.js';
import { PermanentJobError, TransientJobError } from '../src/errors.js';
import { formatBytes, formatMs } from '../src/present/format.js';
import type { Payload } from '../src/queue/payloads/gc-store.js';
import { belowFirstLine } from './summary-detail.js';

export { name, payloadSchema, type Payload } from '../src/queue/payloads/gc-store.js';
/** One collection per host at a time (Nix's lock would serialise them anyway; this keeps the card honest). */
export const exclusive = 'nix-store';

const MAX_ITEMS = 50;

/** A set of store paths: how many, their NAR bytes, a digest of the whole sorted list and the first names. */
export interface PathSet {
  count: number;
  narBytes: number;
  /** sha256 of the sorted paths, one per line: equal digests, equal sets. */
  digest: string;
  /** Up to 50 paths, sorted. */
  items: string[];
}

export interface Result {
  host: string;
  /** Which store, e.g. `container gitlabnix`, and the daemon the collection went through. */
  store: string;
  via: string;
  dryRun: boolean;
  maxFreedBytes?: number;
  /** What the store report (the read-only analysis store-usage makes) predicted a full GC frees; absent when it could not read the store. */
  predicted?: { paths: number; narBytes: number };
  /** Everything Nix's GC found dead, under its lock. */
  dead: { count: number; narBytes: number };
  /** What this run deletes (dry run: would delete). */
  chosen: PathSet;
  /** What Nix said it deleted; absent in a dry run. */
  deleted?: PathSet & { freedBytes: number };
  disk?: { freeBefore: number; freeAfter: number };
  warnings: string[];
  durationMs: number;
}

type Ctx = Pick<JobContext, 'host' | 'settings' | 'progress' | 'log'> & Partial<Pick<JobContext, 'docker'>>;

export function pathSet(paths: readonly string[], sizes: ReadonlyMap<string, number>): PathSet {
  const sorted = [...new Set(paths)].sort();
  return {
    count: sorted.length,
    narBytes: sorted.reduce((sum, p) => sum + (sizes.get(p) ?? 0), 0),
    digest: createHash('sha256').update(sorted.join('\n')).digest('hex'),
    items: sorted.slice(0, MAX_ITEMS),
  };
}

async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

async function predict(location: StoreLocation, signal: AbortSignal): Promise<{ paths: number; narBytes: number } | string> {
  try {
    const analysis = await analyzeStore({ ...location, top: 1, signal });
    return { paths: analysis.garbage.paths, narBytes: analysis.garbage.narBytes };
  } catch (err) {
    if (err instanceof StoreReadError) return `no prediction: ${err.message}`;
    throw err;
  }
}

function nixFor(location: StoreLocation, ctx: Ctx): NixCommand {
  if (location.kind === 'container' && ctx.docker) return nixInContainer(ctx.docker, ctx.settings.nixDaemonContainer);
  return nixOnSocket(location.daemonSocket);
}

/**
 * Collects Nix garbage in the store the runners use (the nix-daemon container's in the seed's second
 * setup, else the host's), through its daemon: Nix finds the roots and deletes under its own GC lock,
 * so paths a running build holds stay. `maxFreedBytes` deletes the least recently registered garbage
 * first (with whatever refers to it) until that many NAR bytes. A dry run lists the same set the real
 * run deletes. The report sets the bytes freed next to what the store report predicted.
 */
export async function run(payload: Payload, ctx: Ctx, signal: AbortSignal = new AbortController().signal): Promise<Result> {
  const started = performance.now();
  const options = { timeoutMs: payload.timeoutSeconds * 1000, signal };
  let location: StoreLocation;
  try {
    location = ctx.docker ? await locateStore(ctx.docker, ctx.settings, payload.store) : hostStore(ctx.settings);
  } catch (err) {
    if (err instanceof StoreReadError) throw new PermanentJobError(err.message);
    throw toJobError(err, 'finding the Nix store', ctx.settings.dockerHost);
  }
  const nix = nixFor(location, ctx);
  const warnings: string[] = [];
  try {
    await ctx.progress({ phase: 'reading the store report', detail: location.label });
    const freeBefore = await freeBytes(location.storeDir);
    const prediction = await predict(location, signal);
    if (typeof prediction === 'string') warnings.push(prediction);

    await ctx.progress({ phase: 'finding garbage', detail: nix.label });
    const deadPaths = await listDeadPaths(nix, options);
    const dead: DeadPath[] = await readDeadPaths(nix, deadPaths, options);
    const sizes = new Map(dead.map((d) => [d.path, d.narSize]));
    const choice = chooseGarbage(dead, payload.maxFreedBytes);
    const base = {
      host: ctx.host,
      store: location.label,
      via: nix.label,
      dryRun: payload.dryRun,
      ...(payload.maxFreedBytes === undefined ? {} : { maxFreedBytes: payload.maxFreedBytes }),
      ...(typeof prediction === 'string' ? {} : { predicted: prediction }),
      dead: { count: dead.length, narBytes: dead.reduce((sum, d) => sum + d.narSize, 0) },
      chosen: pathSet(choice.paths, sizes),
      warnings,
    };
    if (payload.dryRun) {
      return {
        ...base,
        ...(freeBefore === undefined ? {} : { disk: { freeBefore, freeAfter: freeBefore } }),
        durationMs: Math.round(performance.now() - started),
      };
    }
    await ctx.progress({ phase: 'collecting garbage', detail: `${choice.paths.length} paths` });
    let collected: Collected;
    if (payload.maxFreedBytes === undefined) collected = await collectAllGarbage(nix, options);
    else collected = choice.paths.length === 0 ? { deleted: [], freedBytes: 0 } : await deleteDeadPaths(nix, choice.paths, options);
    const freeAfter = await freeBytes(location.storeDir);
    return {
      ...base,
      deleted: { ...pathSet(collected.deleted, sizes), freedBytes: collected.freedBytes },
      ...(freeBefore === undefined || freeAfter === undefined ? {} : { disk: { freeBefore, freeAfter } }),
      durationMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    if (signal.aborted) throw err;
    if (err instanceof NixGcError) {
      // A daemon that is restarting answers again soon; anything else needs a person.
      throw err.transient ? new TransientJobError(err.message) : new PermanentJobError(err.message);
    }
    throw toJobError(err, `collecting garbage in ${location.label}`, ctx.settings.dockerHost);
  }
}

function predictedText(result: Result): string {
  if (!result.predicted) return '';
  return `; the store report predicted ${formatBytes(result.predicted.narBytes)} in ${result.predicted.paths} paths`;
}

export function summarize(result: Result): string {
  const limit = result.maxFreedBytes === undefined ? '' : ` (up to ${formatBytes(result.maxFreedBytes)})`;
  const lines: string[] = [];
  if (result.dryRun) {
    lines.push(
      `dry run: Nix GC in ${result.store} would delete ${result.chosen.count} of ${result.dead.count} dead paths${limit}: ${formatBytes(result.chosen.narBytes)} NAR${predictedText(result)}`,
    );
  } else {
    const deleted = result.deleted!;
    const disk = result.disk ? `; free ${formatBytes(result.disk.freeBefore)} -> ${formatBytes(result.disk.freeAfter)}` : '';
    lines.push(
      `Nix GC in ${result.store} deleted ${deleted.count} paths${limit}: ${formatBytes(deleted.freedBytes)} freed (${formatBytes(deleted.narBytes)} NAR)${predictedText(result)}${disk} in ${formatMs(result.durationMs)}`,
    );
  }
  const items = result.dryRun ? result.chosen.items : result.deleted!.items;
  const count = result.dryRun ? result.chosen.count : result.deleted!.count;
  if (items.length > 0) lines.push(...items.map((p) => `  ${p}`), ...(count > items.length ? [`  … and ${count - items.length} more`] : []));
  lines.push(...result.warnings.map((w) => `note: ${w}`));
  return lines.join('\n');
}

/** The total: for one host the paths below its row's line; for a fan-out, bytes freed (or that would be) across hosts. */
export function summarizeAll(results: Result[]): string {
  const [only] = results;
  if (only && results.length === 1) return belowFirstLine(summarize(only));
  const dry = results.every((r) => r.dryRun);
  const bytes = results.reduce((sum, r) => sum + (r.dryRun ? r.chosen.narBytes : (r.deleted?.freedBytes ?? 0)), 0);
  const paths = results.reduce((sum, r) => sum + (r.dryRun ? r.chosen.count : (r.deleted?.count ?? 0)), 0);
  return `${dry ? 'would delete' : 'deleted'} ${paths} store paths, ${formatBytes(bytes)}${dry ? ' NAR' : ' freed'} on ${results.length} host${results.length === 1 ? '' : 's'}`;
}

/** Free space of the store after a real collection, for `hosts` and App Home. */
export function registryPatch(result: Result): Partial<HostEntry> {
  return !result.dryRun && result.disk ? { disk: { nixFreeBytes: result.disk.freeAfter } } : {};
}
