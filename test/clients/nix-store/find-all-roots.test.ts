import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAllRoots } from '../../../src/clients/nix-store/find-all-roots.js';
import { readStoreDb } from '../../../src/clients/nix-store/read-store-db.js';
import { indexByBaseName } from '../../../src/clients/nix-store/store-snapshot.js';
import { createRootedStore, startNixDaemon, type RootedStore } from '../../setup/nix-store-fixture.js';
import { defined } from '../../helpers/defined.js';

describe('findAllRoots', () => {
  let rooted: RootedStore;
  let socket: string;
  let isValid: (base: string) => boolean;
  const base = (name: string): string => path.basename(defined(rooted.built[name], name).out);

  beforeAll(async () => {
    rooted = await createRootedStore();
    socket = await startNixDaemon(rooted.store);
    const byName = indexByBaseName(readStoreDb(rooted.store.dbPath));
    isValid = (b) => byName.has(b);
  });
  afterAll(async () => {
    await rooted?.store.cleanup();
  });

  it('reads roots from the state directory and /proc when it can', async () => {
    const found = await findAllRoots({ stateDir: rooted.store.stateDir, storeDir: '/nix/store', socket, useDaemon: false, procDir: '/proc', isValid });
    expect(found.source).toBe('files');
    expect(found.roots).toContainEqual(expect.objectContaining({ base: base('kept-runtime'), kind: 'runtime' }));
    expect(found.runtime.visibility).toMatch(/^(all|partial)$/);
  });

  it('skips the process scan when asked and says so', async () => {
    const found = await findAllRoots({ stateDir: rooted.store.stateDir, storeDir: '/nix/store', socket, useDaemon: false, procDir: null, isValid });
    expect(found.runtime).toEqual({ visibility: 'skipped' });
    expect(found.roots.map((r) => r.kind)).not.toContain('runtime');
  });

  it("takes the daemon's list when there is no gcroots directory here", async () => {
    const found = await findAllRoots({
      stateDir: path.join(rooted.store.root, 'elsewhere'),
      storeDir: '/nix/store',
      socket,
      useDaemon: false,
      procDir: '/proc',
      isValid,
    });
    expect(found.source).toBe('daemon');
    expect(found.runtime).toEqual({ visibility: 'daemon' });
    expect(found.warnings).toEqual([expect.stringMatching(/^no .*elsewhere\/gcroots here: the roots are the daemon's own list$/)]);
    expect(found.roots).toContainEqual(expect.objectContaining({ base: base('kept-direct') }));
  });
});
