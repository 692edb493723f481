import fs from 'node:fs';
import path from 'node:path';
import { storePathBase } from './store-path.js';
import type { FoundRoot } from './find-gc-roots.js';

/** How much of the machine's processes the runtime-root scan could see. */
export interface RuntimeRootVisibility {
  /** `all`: every process's fd, maps and environ were readable; `partial`: some were not; `none`: no /proc. */
  visibility: 'all' | 'partial' | 'none';
  /** Processes seen in /proc. */
  processes: number;
  /** Processes whose open files could not be read (permission denied). */
  unreadable: number;
  /** Whether this worker seems to run in a container, where /proc shows only its own PID namespace. */
  container: boolean;
}

export interface RuntimeRootScan extends RuntimeRootVisibility {
  roots: FoundRoot[];
}

export interface FindRuntimeRootsOptions {
  /** The logical store directory, e.g. `/nix/store`. */
  storeDir: string;
  /** Whether a base name is a valid path. */
  isValid: (base: string) => boolean;
  /** The proc file system to scan. @defaultValue `/proc` */
  procDir?: string;
}

/**
 * Finds runtime roots as Nix 2.8 does on Linux: for every process, the targets of `exe`, `cwd` and
 * each `fd/*`, the file names in `maps`, and store paths in `environ`; plus the helper programs in
 * /proc/sys/kernel. A store path any of them names is live while that process runs.
 */
export function findRuntimeRoots(options: FindRuntimeRootsOptions): RuntimeRootScan {
  const procDir = options.procDir ?? '/proc';
  const storeDir = options.storeDir;
  const prefix = `${storeDir}/`;
  const targets = new Map<string, string>();
  const scan: RuntimeRootScan = {
    roots: [],
    visibility: 'all',
    processes: 0,
    unreadable: 0,
    container: isInContainer(),
  };
  const note = (target: string, source: string): void => {
    if (target.startsWith(prefix) && !targets.has(target)) targets.set(target, source);
  };
  const readLink = (file: string): void => {
    try {
      const target = fs.readlinkSync(file);
      if (target.startsWith('/')) note(target, file);
    } catch {
      // gone, or not ours to read: Nix skips these too
    }
  };
  const envPattern = new RegExp(`${escapeRegExp(storeDir)}/[0-9a-z]+[0-9a-zA-Z+\\-._?=]*`, 'g');
  const mapsPattern = /^\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\/\S+)\s*$/;

  let pids: string[];
  try {
    pids = fs.readdirSync(procDir).filter((name) => /^\d+$/.test(name));
  } catch {
    return { ...scan, visibility: 'none' };
  }
  for (const pid of pids) {
    const dir = path.join(procDir, pid);
    scan.processes++;
    readLink(`${dir}/exe`);
    readLink(`${dir}/cwd`);
    let fds: string[];
    try {
      fds = fs.readdirSync(`${dir}/fd`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES') scan.unreadable++;
      continue;
    }
    for (const fd of fds) if (!fd.startsWith('.')) readLink(`${dir}/fd/${fd}`);
    try {
      const maps = fs.readFileSync(`${dir}/maps`, 'latin1');
      if (maps.includes(prefix)) {
        for (const line of maps.split('\n')) {
          if (!line.includes(prefix)) continue;
          const match = mapsPattern.exec(line);
          if (match?.[1] !== undefined) note(match[1], `${dir}/maps`);
        }
      }
      const environ = fs.readFileSync(`${dir}/environ`, 'latin1');
      if (environ.includes(prefix)) {
        for (const match of environ.matchAll(envPattern)) note(match[0], `${dir}/environ`);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES') scan.unreadable++;
    }
  }
  for (const file of ['sys/kernel/modprobe', 'sys/kernel/fbsplash', 'sys/kernel/poweroff_cmd']) {
    try {
      note(fs.readFileSync(path.join(procDir, file), 'latin1'), path.join(procDir, file));
    } catch {
      // absent on this kernel
    }
  }
  for (const [target, source] of targets) {
    const base = storePathBase(target, storeDir);
    if (base !== undefined && options.isValid(base)) scan.roots.push({ link: source, base, kind: 'runtime' });
  }
  if (scan.unreadable > 0) scan.visibility = 'partial';
  return scan;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Docker and Podman leave a marker file; inside them /proc shows only the container's processes. */
function isInContainer(): boolean {
  return fs.existsSync('/.dockerenv') || fs.existsSync('/run/.containerenv');
}
