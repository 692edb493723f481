import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { storePathBase } from './store-path.js';
import { describeErrno } from './store-read-error.js';

/** Where a root was found. */
export type RootKind = 'gcroot' | 'indirect' | 'profile' | 'temporary' | 'runtime' | 'censored';

/** One root: the link (file, /proc entry, `{temp:pid}`) that holds a valid store path. */
export interface FoundRoot {
  /** What holds the path: a symlink, a file, a process entry, or `{censored}` from the daemon. */
  link: string;
  /** Base name (`<hash>-<name>`) of the valid store path it holds. */
  base: string;
  kind: RootKind;
}

export interface RootScan {
  roots: FoundRoot[];
  /** Hash parts of temporary roots: Nix keeps any path with such a hash part. */
  temporaryHashes: Set<string>;
  /** Potential roots that could not be read (permission denied), with the reason. */
  unreadable: string[];
  /** Indirect roots under gcroots/auto whose link is gone (Nix deletes them at its next GC). */
  staleIndirect: number;
  /** Roots pointing at store paths that are not valid (Nix skips them). */
  invalidTargets: number;
  /** Temporary-roots files left by processes that died (Nix ignores and deletes them). */
  staleTemporaryFiles: number;
  /** Whether stale temporary-roots files could be told from live ones (needs flock(1)). */
  temporaryLockCheck: boolean;
}

export interface FindGcRootsOptions {
  /** Nix state directory holding gcroots/, profiles/ and temproots/. */
  stateDir: string;
  /** The logical store directory (as in the database), e.g. `/nix/store`. */
  storeDir: string;
  /** Whether a base name (`<hash>-<name>`) is a valid path. */
  isValid: (base: string) => boolean;
}

/**
 * Finds the roots Nix's collector finds on disk: everything under `gcroots` (recursively; symlinks
 * into the store, regular files named like store paths, and indirect roots: a symlink outside the
 * store that is itself a symlink into the store, as `auto/` holds), everything under `profiles`,
 * and temporary roots of live processes under `temproots`. Reads only; never deletes stale links.
 */
export function findGcRoots(options: FindGcRootsOptions): RootScan {
  const scan: RootScan = {
    roots: [],
    temporaryHashes: new Set(),
    unreadable: [],
    staleIndirect: 0,
    invalidTargets: 0,
    staleTemporaryFiles: 0,
    temporaryLockCheck: true,
  };
  const autoDir = path.join(options.stateDir, 'gcroots', 'auto');

  const seen = new Set<string>();
  const add = (link: string, base: string, kind: RootKind): void => {
    // The same link is often reached twice (a profile generation is also an auto/ root): once is enough.
    const key = `${link}\0${base}`;
    if (seen.has(key)) return;
    seen.add(key);
    scan.roots.push({ link, base, kind });
  };
  const found = (link: string, target: string, kind: RootKind): void => {
    const base = storePathBase(target, options.storeDir);
    if (base === undefined) return;
    if (options.isValid(base)) add(link, base, kind);
    else scan.invalidTargets++;
  };

  const visit = (file: string, type: 'dir' | 'link' | 'file' | 'other' | undefined, kind: RootKind): void => {
    try {
      const actual = type ?? typeOf(fs.lstatSync(file));
      if (actual === 'dir') {
        for (const entry of fs.readdirSync(file, { withFileTypes: true })) {
          visit(path.join(file, entry.name), direntType(entry), kind);
        }
      } else if (actual === 'link') {
        const target = fs.readlinkSync(file);
        if (storePathBase(target, options.storeDir) !== undefined) {
          found(file, target, kind);
          return;
        }
        // An indirect root: the link names a symlink elsewhere that points into the store.
        const outside = path.resolve(path.dirname(file), target);
        let stat: fs.Stats;
        try {
          stat = fs.lstatSync(outside);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'ENOTDIR') {
            if (file.startsWith(`${autoDir}/`)) scan.staleIndirect++;
            return;
          }
          throw Object.assign(err as Error, { rootPath: outside });
        }
        if (!stat.isSymbolicLink()) return;
        const target2 = fs.readlinkSync(outside);
        if (storePathBase(target2, options.storeDir) !== undefined) {
          found(outside, target2, kind === 'gcroot' ? 'indirect' : kind);
        }
      } else if (actual === 'file') {
        const base = path.basename(file);
        if (options.isValid(base)) add(file, base, kind);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      const where = (err as { rootPath?: string }).rootPath ?? file;
      scan.unreadable.push(`${where}: ${describeErrno(err)}`);
    }
  };

  // Profiles first, so a profile generation that is also an indirect root is reported as a profile.
  visit(path.join(options.stateDir, 'profiles'), undefined, 'profile');
  visit(path.join(options.stateDir, 'gcroots'), undefined, 'gcroot');
  findTemporaryRoots(options, scan);
  return scan;
}

function typeOf(stat: fs.Stats): 'dir' | 'link' | 'file' | 'other' {
  if (stat.isDirectory()) return 'dir';
  if (stat.isSymbolicLink()) return 'link';
  if (stat.isFile()) return 'file';
  return 'other';
}

function direntType(entry: fs.Dirent): 'dir' | 'link' | 'file' | 'other' | undefined {
  if (entry.isDirectory()) return 'dir';
  if (entry.isSymbolicLink()) return 'link';
  if (entry.isFile()) return 'file';
  return undefined;
}

/**
 * Temporary roots: `temproots/<pid>` files of NUL-separated store paths. A file counts only while
 * its process lives, which Nix tells by trying to lock it; we ask flock(1) the same question on a
 * read-only descriptor (a lock is not a write, and it is released at once).
 */
function findTemporaryRoots(options: FindGcRootsOptions, scan: RootScan): void {
  const dir = path.join(options.stateDir, 'temproots');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') scan.unreadable.push(`${dir}: ${describeErrno(err)}`);
    return;
  }
  for (const name of names) {
    if (name.startsWith('.') || !/^\d+$/.test(name)) continue;
    const file = path.join(dir, name);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') scan.unreadable.push(`${file}: ${describeErrno(err)}`);
      continue;
    }
    try {
      const held = isLockedByAnother(fd);
      if (held === undefined) scan.temporaryLockCheck = false;
      if (held === false) {
        scan.staleTemporaryFiles++;
        continue;
      }
      const contents = fs.readFileSync(fd, 'utf8');
      for (const entry of contents.split('\0')) {
        const base = storePathBase(entry, options.storeDir);
        if (base === undefined || base.includes('/')) continue;
        scan.temporaryHashes.add(base.slice(0, 32));
        if (options.isValid(base)) scan.roots.push({ link: `{temp:${name}}`, base, kind: 'temporary' });
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** true: another process holds a lock on the file; false: nobody does; undefined: cannot tell. */
function isLockedByAnother(fd: number): boolean | undefined {
  const result = spawnSync('flock', ['--nonblock', '--exclusive', '3'], {
    stdio: ['ignore', 'ignore', 'ignore', fd],
    timeout: 5000,
  });
  if (result.error !== undefined || result.status === null) return undefined;
  return result.status !== 0;
}
