import type { HostEntry } from '../src/queue/host-registry.js';
import { formatStoreTable } from '../src/present/store-report.js';
import { analyzeStore, type LargestClosure, type LargestPath, type RuntimeRootsSeen, type StoreAnalysis } from './store-usage/analyze-store.js';
import type { RootKind } from '../src/clients/nix-store/find-gc-roots.js';
import { StoreReadError } from '../src/clients/nix-store/store-read-error.js';
import { hostStore, locateStore, type StoreLocation } from '../src/clients/nix-store/locate-store.js';
import { PermanentJobError, TransientJobError } from '../src/errors.js';
import { computeStoreTrend, recordStoreReport, type StoreHistoryEntry, type StoreTrend } from '../src/reports/store-history.js';
import { formatStoreReport } from '../src/present/store-report.js';
import type { JobContext } from './job-context.js';
import type { Payload } from '../src/queue/payloads/store-usage.js';
import { belowFirstLine } from './summary-detail.js';

export { name, payloadSchema, type Payload } from '../src/queue/payloads/store-usage.js';

/** Said with every garbage figure: summed NAR sizes ignore files `nix-store --optimise` shares. */
export const GARBAGE_NOTE = 'sum of NAR sizes; files hard-linked by nix-store --optimise are shared, so the space really freed can be smaller';

export interface Result {
  host: string;
  /** Which store this is and where its parts were found (the container's volumes, or NIX_STATE_DIR / NIX_STORE_DIR); absent in results of older workers. */
  store?: Pick<StoreLocation, 'kind' | 'label' | 'stateDir' | 'storeDir' | 'dbDir'>;
  /** When the report was made (ms since epoch). */
  at: number;
  /** Where paths and references were read: the database, or the nix daemon (CLI) as fallback. */
  source: 'db' | 'daemon';
  /** The database file or daemon socket. */
  sourceDetail: string;
  /** Why the database was not used, when the daemon was asked instead. */
  fallbackReason?: string;
  storeDir: string;
  paths: number;
  references: number;
  /** Sum of NAR sizes of all valid paths. */
  narBytes: number;
  /** The file system holding the store. */
  disk: { freeBytes: number; totalBytes: number };
  /** What garbage collection would delete. */
  garbage: { paths: number; narBytes: number; note: string };
  roots: {
    source: 'files' | 'daemon';
    links: number;
    paths: number;
    byKind: Partial<Record<RootKind, number>>;
    staleIndirect: number;
    unreadableCount: number;
  };
  /** Whether running processes could be seen as roots, with one line saying so. */
  runtimeRoots: RuntimeRootsSeen & { note: string };
  settings: { keepOutputs: boolean; keepDerivations: boolean };
  largestPaths: LargestPath[];
  largestClosures: LargestClosure[];
  /** Change since this host's previous report; null for the first. */
  trend: StoreTrend | null;
  warnings: string[];
  durationMs: number;
}

/**
 * Reports what is in the host's Nix store, what garbage collection would free and how both changed
 * since the last report. Reads the Nix database read-only (or asks the daemon), never takes the GC
 * lock, never writes to the store; keeps the report's figures in Redis for trends and charts.
 */
export async function run(
  payload: Payload,
  ctx: Pick<JobContext, 'host' | 'settings' | 'redis' | 'prefix' | 'progress'> & Partial<Pick<JobContext, 'docker'>>,
  signal?: AbortSignal,
): Promise<Result> {
  const choice = payload.store ?? 'auto';
  let analysis: StoreAnalysis;
  let location: StoreLocation;
  try {
    location =
      ctx.docker === undefined
        ? choice === 'container'
          ? failNoDocker(ctx.host)
          : hostStore(ctx.settings)
        : await locateStore(ctx.docker, ctx.settings, choice);
    await ctx.progress({ phase: 'reading the Nix store', detail: location.label });
    analysis = await analyzeStore({
      stateDir: location.stateDir,
      storeDir: location.storeDir,
      dbDir: location.dbDir,
      daemonSocket: location.daemonSocket,
      rootsViaDaemon: location.rootsViaDaemon,
      top: payload.top,
      signal,
    });
  } catch (err) {
    if (err instanceof StoreReadError) {
      throw err.reason === 'busy' ? new TransientJobError(err.message) : new PermanentJobError(err.message);
    }
    throw err;
  }
  const at = Date.now();
  const entry: StoreHistoryEntry = {
    at,
    paths: analysis.paths,
    narBytes: analysis.narBytes,
    garbagePaths: analysis.garbage.paths,
    garbageBytes: analysis.garbage.narBytes,
    freeBytes: analysis.disk.freeBytes,
    totalBytes: analysis.disk.totalBytes,
  };
  await ctx.progress({ phase: 'saving the report' });
  let previous: StoreHistoryEntry | undefined;
  try {
    // The host's own store, asked for next to its container's, keeps a trend of its own.
    previous = await recordStoreReport(ctx.redis, ctx.prefix, choice === 'host' ? `${ctx.host}:host-store` : ctx.host, entry);
  } catch (err) {
    throw new TransientJobError(`could not keep the report in Redis (${err instanceof Error ? err.message : String(err)})`);
  }
  return {
    host: ctx.host,
    store: { kind: location.kind, label: location.label, stateDir: location.stateDir, storeDir: location.storeDir, dbDir: location.dbDir },
    at,
    source: analysis.source,
    sourceDetail: analysis.sourceDetail,
    ...(analysis.fallbackReason === undefined ? {} : { fallbackReason: analysis.fallbackReason }),
    storeDir: analysis.storeDir,
    paths: analysis.paths,
    references: analysis.references,
    narBytes: analysis.narBytes,
    disk: analysis.disk,
    garbage: { ...analysis.garbage, note: GARBAGE_NOTE },
    roots: {
      source: analysis.roots.source,
      links: analysis.roots.links,
      paths: analysis.roots.paths,
      byKind: analysis.roots.byKind,
      staleIndirect: analysis.roots.staleIndirect,
      unreadableCount: analysis.roots.unreadableCount,
    },
    runtimeRoots: { ...analysis.runtimeRoots, note: describeRuntimeRoots(analysis.runtimeRoots) },
    settings: { keepOutputs: analysis.settings.keepOutputs, keepDerivations: analysis.settings.keepDerivations },
    largestPaths: analysis.largestPaths,
    largestClosures: analysis.largestClosures,
    trend: computeStoreTrend(previous, entry),
    warnings: analysis.warnings,
    durationMs: Math.round(analysis.timings.totalMs),
  };
}

/** One line on how much of the running programs the report could see. */
export function describeRuntimeRoots(seen: RuntimeRootsSeen): string {
  switch (seen.visibility) {
    case 'all':
      return `read all ${seen.processes} processes${seen.container ? ' in this container (others are not visible)' : ''}`;
    case 'partial':
      return `could not read ${seen.unreadable} of ${seen.processes} processes; paths only they use count as garbage`;
    case 'none':
      return 'no /proc: paths in use by running programs count as garbage';
    case 'daemon':
      return 'as the nix daemon sees them';
    case 'skipped':
      return 'not scanned';
  }
}

export function summarize(result: Result): string {
  const lines = formatStoreReport(result);
  // Older results (before the store was located) have no `store`.
  if (result.store?.kind === 'container') lines.unshift(`Nix store of ${result.store.label} (${result.store.storeDir})`);
  return lines.join('\n');
}

function failNoDocker(host: string): never {
  throw new StoreReadError(
    `the worker on ${host} has no Docker client, so it cannot find the nix-daemon container's store; ask for the host's own store`,
    'missing',
  );
}

/**
 * The card's total: for one host its whole report below the summary line the host's row shows
 * (garbage, roots by kind, largest paths and closures, trend); for `store all` one table across hosts,
 * the least free space first.
 */
export function summarizeAll(results: Result[]): string {
  const [only] = results;
  if (only && results.length === 1) return belowFirstLine(summarize(only));
  return ['\n', ...formatStoreTable(results.map((result) => ({ host: result.host, result })))].join('\n');
}

/** Store size, garbage and free space in the registry, for `hosts` and App Home. */
export function registryPatch(result: Result): Partial<HostEntry> {
  return {
    disk: { nixFreeBytes: result.disk.freeBytes },
    store: { totalNarBytes: result.narBytes, garbageBytes: result.garbage.narBytes, at: result.at },
  };
}
