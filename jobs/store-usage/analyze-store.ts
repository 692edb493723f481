import fs from 'node:fs';
import path from 'node:path';
import { findAllRoots, type RuntimeRootsSeen } from '../../src/clients/nix-store/find-all-roots.js';
import type { RootKind } from '../../src/clients/nix-store/find-gc-roots.js';
import { markLive } from './mark-live.js';
import { defaultNixConfFile, readGcSettings } from '../../src/clients/nix-store/read-gc-settings.js';
import { readStore } from '../../src/clients/nix-store/read-store.js';
import { measureClosures } from './measure-closure.js';
import { selectTop } from './select-top.js';
import { StoreReadError, describeErrno } from '../../src/clients/nix-store/store-read-error.js';
import { readableName } from '../../src/clients/nix-store/store-path.js';
import { indexStorePaths } from '../../src/clients/nix-store/store-path-index.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** Returns after the timers that are due ran (a timer's turn, not setImmediate's, which can come first). */
const yieldToTimers = (): Promise<void> => sleep(0);

export interface AnalyzeStoreOptions {
  /** Nix state directory: db/db.sqlite, gcroots, profiles, temproots. */
  stateDir: string;
  /** Where the store's files are on this machine (for free space). */
  storeDir: string;
  /** Directory of db.sqlite when it is not `<stateDir>/db` (a container's db volume). @defaultValue `<stateDir>/db` */
  dbDir?: string;
  /** Take the GC roots from the daemon even when the database is read (the state directory is not visible here). @defaultValue false */
  rootsViaDaemon?: boolean;
  /** How many largest paths and largest closures to list. @defaultValue 10 */
  top?: number;
  /** nix.conf with keep-outputs / keep-derivations. @defaultValue `$NIX_CONF_DIR/nix.conf`, else `/etc/nix/nix.conf` */
  nixConfFile?: string;
  /** `db` reads the database only, `daemon` asks the nix daemon only, `auto` falls back from one to the other. @defaultValue `auto` */
  source?: 'auto' | 'db' | 'daemon';
  /** The nix daemon's socket, for the fallback. @defaultValue `<stateDir>/daemon-socket/socket` */
  daemonSocket?: string;
  /** The proc file system scanned for runtime roots; null skips the scan. @defaultValue `/proc` */
  procDir?: string | null;
  /** Also return every garbage path (for comparisons; large). @defaultValue false */
  includeDeadPaths?: boolean;
  /** Stops the work between phases and any running nix command. */
  signal?: AbortSignal;
}

export type { RuntimeRootsSeen } from '../../src/clients/nix-store/find-all-roots.js';

export interface LargestPath {
  path: string;
  /** The path without its hash, e.g. `gcc-12.3.0`. */
  name: string;
  narBytes: number;
  live: boolean;
}

export interface LargestClosure {
  path: string;
  name: string;
  closureBytes: number;
  closurePaths: number;
  /** Up to three links that root this path (profile links, gcroots, /proc entries). */
  links: string[];
  linkCount: number;
}

export interface StoreAnalysis {
  /** Where the paths and references came from. */
  source: 'db' | 'daemon';
  /** The database file or daemon socket read. */
  sourceDetail: string;
  /** Why the database was not used, when the daemon was asked instead. */
  fallbackReason?: string;
  /** Logical store directory (as in the database). */
  storeDir: string;
  /** Where the store's files are on this machine. */
  realStoreDir: string;
  paths: number;
  references: number;
  /** Sum of NAR sizes of all valid paths (hard-link sharing not subtracted). */
  narBytes: number;
  disk: { freeBytes: number; totalBytes: number };
  live: { paths: number; narBytes: number };
  garbage: { paths: number; narBytes: number };
  roots: {
    source: 'files' | 'daemon';
    /** Links found (a path held by two links counts twice). */
    links: number;
    /** Distinct store paths held by roots. */
    paths: number;
    byKind: Partial<Record<RootKind, number>>;
    staleIndirect: number;
    invalidTargets: number;
    staleTemporaryFiles: number;
    /** Potential roots that could not be read, with the reason (at most 5). */
    unreadable: string[];
    unreadableCount: number;
  };
  runtimeRoots: RuntimeRootsSeen;
  settings: { keepOutputs: boolean; keepDerivations: boolean; confFile: string; confFound: boolean };
  largestPaths: LargestPath[];
  largestClosures: LargestClosure[];
  /** Things a person should know about the accuracy of the figures, one line each. */
  warnings: string[];
  timings: { readMs: number; rootsMs: number; computeMs: number; totalMs: number };
  /** Every garbage path, when asked for. */
  deadPaths?: string[];
}

/**
 * What is in a Nix store and what garbage collection would free: reads the database read-only (or
 * asks the daemon), finds the roots Nix would find, marks live paths in memory and measures the
 * largest paths and the closures of the roots. Throws `StoreReadError` with one line on failure.
 */
export async function analyzeStore(options: AnalyzeStoreOptions): Promise<StoreAnalysis> {
  const started = performance.now();
  const signal = options.signal;
  const warnings: string[] = [];
  const socket = options.daemonSocket ?? path.join(options.stateDir, 'daemon-socket/socket');
  const disk = await readDiskSpace(options.storeDir);
  const gc = readGcSettings(options.nixConfFile ?? defaultNixConfFile());
  warnings.push(...gc.warnings);
  signal?.throwIfAborted();

  const read = await readStore({
    stateDir: options.stateDir,
    ...(options.dbDir === undefined ? {} : { dbDir: options.dbDir }),
    socket,
    source: options.source,
    signal,
  });
  const snapshot = read.snapshot;
  const readMs = performance.now() - started;
  signal?.throwIfAborted();

  // Between the long synchronous steps, let timers run: the worker renews the job's lock from one.
  await yieldToTimers();
  const byName = indexStorePaths(snapshot.paths, snapshot.storeDir);
  const isValid = (base: string): boolean => byName.byBase(base) >= 0;
  const found = await findAllRoots({
    stateDir: options.stateDir,
    storeDir: snapshot.storeDir,
    socket,
    useDaemon: read.source === 'daemon' || options.rootsViaDaemon === true,
    procDir: options.procDir === undefined ? '/proc' : options.procDir,
    isValid,
    signal,
  });
  warnings.push(...found.warnings);
  const rootsMs = performance.now() - started - readMs;
  signal?.throwIfAborted();

  const computeStarted = performance.now();
  const rootIndex: number[] = [];
  const linksOf = new Map<number, string[]>();
  const byKind: Partial<Record<RootKind, number>> = {};
  for (const root of found.roots) {
    const index = byName.byBase(root.base);
    byKind[root.kind] = (byKind[root.kind] ?? 0) + 1;
    const links = linksOf.get(index);
    if (links === undefined) {
      linksOf.set(index, [root.link]);
      rootIndex.push(index);
    } else {
      links.push(root.link);
    }
  }
  if (found.temporaryHashes.size > 0) {
    // Nix keeps any path whose hash part a temporary root names.
    for (const i of [...found.temporaryHashes].flatMap((hash) => byName.byHashPart(hash)).sort((a, b) => a - b)) {
      if (!linksOf.has(i)) {
        linksOf.set(i, ['{temp}']);
        rootIndex.push(i);
      }
    }
  }
  const live = markLive(snapshot, rootIndex, gc);
  await yieldToTimers();

  let narBytes = 0;
  let liveCount = 0;
  let liveBytes = 0;
  const { narSize } = snapshot;
  for (let i = 0; i < snapshot.paths.length; i++) {
    narBytes += narSize[i]!;
    if (live[i] === 1) {
      liveCount++;
      liveBytes += narSize[i]!;
    }
  }
  const top = options.top ?? 10;
  const largestPaths = selectTop(narSize, top).map((i) => ({
    path: snapshot.paths[i]!,
    name: readableName(snapshot.paths[i]!),
    narBytes: narSize[i]!,
    live: live[i] === 1,
  }));

  await yieldToTimers();
  const closureBytes = new Float64Array(snapshot.paths.length);
  const closurePaths = new Map<number, number>();
  measureClosures(snapshot, rootIndex).forEach((size, k) => {
    closureBytes[rootIndex[k]!] = size.narBytes;
    closurePaths.set(rootIndex[k]!, size.paths);
  });
  const largestClosures = selectTop(closureBytes, top, rootIndex).map((i) => {
    const links = linksOf.get(i) ?? [];
    return {
      path: snapshot.paths[i]!,
      name: readableName(snapshot.paths[i]!),
      closureBytes: closureBytes[i]!,
      closurePaths: closurePaths.get(i) ?? 0,
      links: links.slice(0, 3),
      linkCount: links.length,
    };
  });

  await yieldToTimers();
  const deadPaths = options.includeDeadPaths ? snapshot.paths.filter((_, i) => live[i] === 0) : undefined;
  const computeMs = performance.now() - computeStarted;
  return {
    source: read.source,
    sourceDetail: read.detail,
    ...(read.fallbackReason === undefined ? {} : { fallbackReason: read.fallbackReason }),
    storeDir: snapshot.storeDir,
    realStoreDir: options.storeDir,
    paths: snapshot.paths.length,
    references: snapshot.refTargets.length,
    narBytes,
    disk,
    live: { paths: liveCount, narBytes: liveBytes },
    garbage: { paths: snapshot.paths.length - liveCount, narBytes: narBytes - liveBytes },
    roots: {
      source: found.source,
      links: found.roots.length,
      paths: rootIndex.length,
      byKind,
      staleIndirect: found.staleIndirect,
      invalidTargets: found.invalidTargets,
      staleTemporaryFiles: found.staleTemporaryFiles,
      unreadable: found.unreadable.slice(0, 5),
      unreadableCount: found.unreadable.length,
    },
    runtimeRoots: found.runtime,
    settings: { keepOutputs: gc.keepOutputs, keepDerivations: gc.keepDerivations, confFile: gc.confFile, confFound: gc.found },
    largestPaths,
    largestClosures,
    warnings,
    timings: { readMs, rootsMs, computeMs, totalMs: performance.now() - started },
    ...(deadPaths === undefined ? {} : { deadPaths }),
  };
}

async function readDiskSpace(storeDir: string): Promise<{ freeBytes: number; totalBytes: number }> {
  try {
    if (!(await fs.promises.stat(storeDir)).isDirectory()) {
      throw new StoreReadError(`Nix store directory ${storeDir} is not a directory; check NIX_STORE_DIR`, 'missing');
    }
    const stat = await fs.promises.statfs(storeDir);
    return { freeBytes: stat.bavail * stat.bsize, totalBytes: stat.blocks * stat.bsize };
  } catch (err) {
    if (err instanceof StoreReadError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new StoreReadError(`Nix store directory ${storeDir} does not exist; check NIX_STORE_DIR (where the store's files are on this machine)`, 'missing');
    }
    throw new StoreReadError(`cannot read Nix store directory ${storeDir}: ${describeErrno(err)}; run the worker as a user that may read it`, 'unreadable');
  }
}
