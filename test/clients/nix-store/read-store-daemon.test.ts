import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRootsViaDaemon, readStoreViaDaemon, storeUri } from '../../../src/clients/nix-store/read-store-daemon.js';
import { readStoreDb } from '../../../src/clients/nix-store/read-store-db.js';
import { StoreReadError } from '../../../src/clients/nix-store/store-read-error.js';
import type { StoreSnapshot } from '../../../src/clients/nix-store/store-snapshot.js';
import { createRootedStore, startNixDaemon, type RootedStore } from '../../setup/nix-store-fixture.js';
import { defined } from '../../helpers/defined.js';

function edges(snapshot: StoreSnapshot, start: Int32Array, targets: Int32Array): string[] {
  const out: string[] = [];
  snapshot.paths.forEach((p, i) => {
    for (let e = start[i]!; e < start[i + 1]!; e++) out.push(`${p} ${snapshot.paths[targets[e]!]}`);
  });
  return out.sort();
}

/** A rooted store with a nix daemon on it for the enclosing describe (beforeAll), removed after it. */
function useStoreDaemon(): { rooted: RootedStore; socket: string } {
  const daemon = {} as { rooted: RootedStore; socket: string };
  beforeAll(async () => {
    daemon.rooted = await createRootedStore();
    daemon.socket = await startNixDaemon(daemon.rooted.store);
  });
  afterAll(async () => {
    await daemon.rooted?.store.cleanup();
  });
  return daemon;
}

describe('readStoreViaDaemon', () => {
  const daemon = useStoreDaemon();

  it('reads the same paths, sizes, references and derivation outputs as the database holds', async () => {
    const viaDaemon = await readStoreViaDaemon({ socket: daemon.socket, env: { ...process.env, NIX_CONF_DIR: path.dirname(daemon.rooted.store.confFile) } });
    const viaDb = readStoreDb(daemon.rooted.store.dbPath);
    expect([...viaDaemon.paths].sort()).toEqual([...viaDb.paths].sort());
    const size = (s: StoreSnapshot): string[] => s.paths.map((p, i) => `${p} ${s.narSize[i]}`).sort();
    expect(size(viaDaemon)).toEqual(size(viaDb));
    expect(edges(viaDaemon, viaDaemon.refStart, viaDaemon.refTargets)).toEqual(edges(viaDb, viaDb.refStart, viaDb.refTargets));
    expect(edges(viaDaemon, viaDaemon.outputStart, viaDaemon.outputTargets)).toEqual(edges(viaDb, viaDb.outputStart, viaDb.outputTargets));
  });

  it('says in one line when no daemon answers on the socket', async () => {
    const missing = path.join(daemon.rooted.store.root, 'no-socket');
    const error = await readStoreViaDaemon({ socket: missing }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StoreReadError);
    expect((error as Error).message).toMatch(new RegExp(`^the nix daemon at ${missing} did not answer: .+`));
    expect((error as Error).message).not.toContain('\n');
  });
});

describe('readRootsViaDaemon', () => {
  const daemon = useStoreDaemon();

  it("lists the daemon's roots of every kind with the paths they hold", async () => {
    const byName = new Set(readStoreDb(daemon.rooted.store.dbPath).paths.map((p) => path.basename(p)));
    const roots = await readRootsViaDaemon({ socket: daemon.socket, storeDir: '/nix/store', isValid: (b) => byName.has(b) });
    const base = (name: string): string => path.basename(defined(daemon.rooted.built[name], name).out);
    expect(roots).toContainEqual({ link: daemon.rooted.links.direct, base: base('kept-direct'), kind: 'gcroot' });
    expect(roots).toContainEqual({ link: daemon.rooted.links.indirect, base: base('kept-indirect'), kind: 'indirect' });
    expect(roots.find((r) => r.base === base('kept-profile'))?.kind).toBe('profile');
    expect(roots.find((r) => r.base === base('kept-temp'))?.kind).toBe('temporary');
    expect(roots.find((r) => r.base === base('kept-runtime'))?.kind).toBe('runtime');
  });
});

describe('storeUri', () => {
  it('names a daemon socket as nix expects', () => {
    expect(storeUri('/nix/var/nix/daemon-socket/socket')).toBe('unix:///nix/var/nix/daemon-socket/socket');
  });
});
