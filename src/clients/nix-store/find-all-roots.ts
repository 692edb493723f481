import fs from 'node:fs';
import path from 'node:path';
import { findGcRoots, type FoundRoot } from './find-gc-roots.js';
import { findRuntimeRoots, type RuntimeRootVisibility } from './find-runtime-roots.js';
import { readRootsViaDaemon } from './read-store-daemon.js';
import { isSocket } from './read-store.js';
import { StoreReadError } from './store-read-error.js';

/** Runtime roots as the report saw them: scanned here, reported by the daemon, or skipped. */
export type RuntimeRootsSeen = RuntimeRootVisibility | { visibility: 'daemon' | 'skipped' };

export interface AllRoots {
  /** Roots read from the state directory (and /proc), or the daemon's own list. */
  source: 'files' | 'daemon';
  roots: FoundRoot[];
  temporaryHashes: Set<string>;
  unreadable: string[];
  staleIndirect: number;
  invalidTargets: number;
  staleTemporaryFiles: number;
  runtime: RuntimeRootsSeen;
  /** What limits the roots' completeness, one line each. */
  warnings: string[];
}

export interface FindAllRootsOptions {
  /** Nix state directory holding gcroots/, profiles/ and temproots/. */
  stateDir: string;
  /** The logical store directory, e.g. `/nix/store`. */
  storeDir: string;
  /** The nix daemon's socket. */
  socket: string;
  /** Ask the daemon even when the state directory is readable (the store was read through it). */
  useDaemon: boolean;
  /** The proc file system to scan; null skips the scan. */
  procDir: string | null;
  isValid: (base: string) => boolean;
  signal?: AbortSignal;
}

/**
 * Every GC root Nix would use: from the state directory and /proc when the worker can see them,
 * else the daemon's own list (`nix-store --gc --print-roots`); says which, and what it could not see.
 */
export async function findAllRoots(options: FindAllRootsOptions): Promise<AllRoots> {
  const warnings: string[] = [];
  const gcrootsDir = path.join(options.stateDir, 'gcroots');
  const haveFiles = fs.existsSync(gcrootsDir);
  if (options.useDaemon || !haveFiles) {
    if (!isSocket(options.socket)) {
      throw new StoreReadError(
        `no GC roots directory ${gcrootsDir} and no nix daemon at ${options.socket}; set NIX_STATE_DIR to the daemon's state directory`,
        'missing',
      );
    }
    if (!haveFiles) warnings.push(`no ${gcrootsDir} here: the roots are the daemon's own list`);
    const roots = await readRootsViaDaemon({
      socket: options.socket,
      storeDir: options.storeDir,
      isValid: options.isValid,
      signal: options.signal,
    });
    return {
      source: 'daemon',
      roots,
      temporaryHashes: new Set(),
      unreadable: [],
      staleIndirect: 0,
      invalidTargets: 0,
      staleTemporaryFiles: 0,
      runtime: { visibility: 'daemon' },
      warnings,
    };
  }
  const scan = findGcRoots({ stateDir: options.stateDir, storeDir: options.storeDir, isValid: options.isValid });
  if (scan.unreadable.length > 0) {
    warnings.push(`${scan.unreadable.length} potential GC root(s) could not be read (first: ${scan.unreadable[0]}); garbage may be overstated`);
  }
  if (!scan.temporaryLockCheck) {
    warnings.push('flock(1) is missing, so every temporary-roots file counted as live; install util-linux');
  }
  let runtime: RuntimeRootsSeen = { visibility: 'skipped' };
  const roots = [...scan.roots];
  if (options.procDir !== null) {
    const found = findRuntimeRoots({ storeDir: options.storeDir, isValid: options.isValid, procDir: options.procDir });
    const { roots: runtimeRoots, ...visibility } = found;
    roots.push(...runtimeRoots);
    runtime = visibility;
    if (found.visibility === 'none') {
      warnings.push('no /proc here, so paths in use by running processes may be counted as garbage');
    } else if (found.unreadable > 0) {
      warnings.push(`could not read the open files of ${found.unreadable} of ${found.processes} processes; paths only they use may be counted as garbage`);
    }
    if (found.container) {
      warnings.push('the worker runs in a container: processes outside it are not seen as runtime roots');
    }
  }
  return { source: 'files', ...scan, roots, runtime, warnings };
}
