import fs from 'node:fs';
import path from 'node:path';
import { readStoreDb } from './read-store-db.js';
import { readStoreViaDaemon, storeUri } from './read-store-daemon.js';
import { StoreReadError } from './store-read-error.js';
import type { StoreSnapshot } from './store-snapshot.js';

export interface ReadStoreOptions {
  /** Nix state directory holding db/db.sqlite. */
  stateDir: string;
  /** Directory of db.sqlite when it is not `<stateDir>/db` (a container's db volume). @defaultValue `<stateDir>/db` */
  dbDir?: string;
  /** The nix daemon's socket, for the fallback. */
  socket: string;
  /** `db` reads the database only, `daemon` asks the nix daemon only, `auto` falls back from one to the other. @defaultValue `auto` */
  source?: 'auto' | 'db' | 'daemon';
  signal?: AbortSignal;
}

export interface StoreRead {
  snapshot: StoreSnapshot;
  source: 'db' | 'daemon';
  /** The database file or the daemon's store URI. */
  detail: string;
  /** Why the database was not used, when the daemon was asked instead. */
  fallbackReason?: string;
}

/**
 * Reads the store from its database, or, when the database cannot be read and a daemon socket is
 * there, through the nix daemon; says which. When both fail the error names both reasons.
 */
export async function readStore(options: ReadStoreOptions): Promise<StoreRead> {
  const dbPath = path.join(options.dbDir ?? path.join(options.stateDir, 'db'), 'db.sqlite');
  const mode = options.source ?? 'auto';
  const socket = options.socket;
  let dbError: StoreReadError | undefined;
  if (mode !== 'daemon') {
    try {
      return { snapshot: readStoreDb(dbPath), source: 'db', detail: dbPath };
    } catch (err) {
      if (!(err instanceof StoreReadError) || mode === 'db') throw err;
      dbError = err;
    }
  }
  if (dbError !== undefined && !isSocket(socket)) throw dbError;
  try {
    const snapshot = await readStoreViaDaemon({ socket, signal: options.signal });
    return {
      snapshot,
      source: 'daemon',
      detail: storeUri(socket),
      ...(dbError === undefined ? {} : { fallbackReason: dbError.message }),
    };
  } catch (err) {
    if (dbError !== undefined && err instanceof StoreReadError) {
      throw new StoreReadError(`${dbError.message}; asking the daemon instead failed too: ${err.message}`, dbError.reason);
    }
    throw err;
  }
}

/** Whether a file is a Unix socket (a daemon may be listening). */
export function isSocket(file: string): boolean {
  try {
    return fs.statSync(file).isSocket();
  } catch {
    return false;
  }
}
