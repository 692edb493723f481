import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { PermanentJobError } from '../../errors.js';
import { slugOf } from './token-files.js';
import { readIfExists, writeFileAtomic } from './write-file-atomic.js';

/**
 * The rotation recovery file (state dir, mode 0600): a token reset kills the old token at once, so
 * the new one is saved here before anything else can fail, and a rerun finishes the write instead
 * of resetting again. `resetting` marks a reset whose answer may have been lost.
 */
export type RecoveryRecord =
  | { state: 'resetting'; jobId: string; runnerId?: number; runnerName: string; at: string }
  | {
      state: 'reset';
      jobId: string;
      runnerId?: number;
      runnerName: string;
      at: string;
      /** The new token: the only place it lives until it is written to the runner's files. */
      token: string;
      obtainedAt: string;
      tokenExpiresAt: string | null;
    };

export function recoveryPath(stateDir: string, runner: { id?: number; name: string }): string {
  return path.join(stateDir, `rotation-${runner.id !== undefined ? String(runner.id) : slugOf(runner.name)}.json`);
}

export async function readRecovery(stateDir: string, runner: { id?: number; name: string }): Promise<RecoveryRecord | undefined> {
  const file = recoveryPath(stateDir, runner);
  const text = await readIfExists(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as RecoveryRecord;
  } catch {
    throw new PermanentJobError(`${file} is damaged; if it holds a token, copy it into config.toml by hand, then delete the file`);
  }
}

/** Saves the record atomically with fsync (temp file, rename), mode 0600. */
export async function writeRecovery(stateDir: string, record: RecoveryRecord): Promise<void> {
  await writeFileAtomic(recoveryPath(stateDir, { id: record.runnerId, name: record.runnerName }), `${JSON.stringify(record)}\n`);
}

export async function clearRecovery(stateDir: string, runner: { id?: number; name: string }): Promise<void> {
  await unlink(recoveryPath(stateDir, runner)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
