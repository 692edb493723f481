import { readFile, stat } from 'node:fs/promises';
import { replaceFileBytes } from './write-file-atomic.js';

/** A file's exact bytes, mode and owner before a change; `bytes` undefined: it did not exist. */
export interface FileSnapshot {
  file: string;
  bytes: Buffer | undefined;
  mode: number;
  uid: number;
  gid: number;
}

/** Snapshots of `files` (each path once), taken before a change that may have to be taken back. */
export async function snapshotFiles(files: string[]): Promise<FileSnapshot[]> {
  return Promise.all(
    [...new Set(files)].map(async (file) => {
      try {
        const [bytes, s] = await Promise.all([readFile(file), stat(file)]);
        return { file, bytes, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        return { file, bytes: undefined, mode: 0o600, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
      }
    }),
  );
}

async function unchanged(snapshot: FileSnapshot): Promise<boolean> {
  try {
    const now = await readFile(snapshot.file);
    return snapshot.bytes !== undefined && now.equals(snapshot.bytes);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return snapshot.bytes === undefined;
  }
}

/**
 * Puts every snapshotted file back byte for byte (a file that did not exist is removed again); files
 * that are already as they were are left alone. Returns the files that could not be restored, with why.
 */
export async function restoreSnapshots(snapshots: FileSnapshot[]): Promise<string[]> {
  const failures: string[] = [];
  for (const snapshot of snapshots) {
    try {
      if (await unchanged(snapshot)) continue;
      await replaceFileBytes(snapshot.file, snapshot.bytes, snapshot);
    } catch (err) {
      failures.push(`${snapshot.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return failures;
}
