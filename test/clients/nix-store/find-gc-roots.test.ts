import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findGcRoots, type RootScan } from '../../../src/clients/nix-store/find-gc-roots.js';
import { readStoreDb } from '../../../src/clients/nix-store/read-store-db.js';
import { indexByBaseName } from '../../../src/clients/nix-store/store-snapshot.js';
import { createRootedStore, type RootedStore } from '../../setup/nix-store-fixture.js';
import { defined } from '../../helpers/defined.js';

describe('findGcRoots', () => {
  let rooted: RootedStore;
  let scan: RootScan;
  const base = (name: string): string => path.basename(defined(rooted.built[name], name).out);

  beforeAll(async () => {
    rooted = await createRootedStore();
    const byName = indexByBaseName(readStoreDb(rooted.store.dbPath));
    scan = findGcRoots({ stateDir: rooted.store.stateDir, storeDir: '/nix/store', isValid: (b) => byName.has(b) });
  });
  afterAll(async () => {
    await rooted?.store.cleanup();
  });

  it('finds direct symlinks, links into a path and regular files under gcroots', () => {
    expect(scan.roots).toContainEqual({ link: rooted.links.direct, base: base('kept-direct'), kind: 'gcroot' });
    expect(scan.roots).toContainEqual({ link: rooted.links.subpath, base: base('kept-subpath'), kind: 'gcroot' });
    expect(scan.roots).toContainEqual({ link: rooted.links.regularFile, base: base('kept-file'), kind: 'gcroot' });
    expect(scan.roots).toContainEqual({
      link: rooted.links.derivation,
      base: path.basename(defined(rooted.built['drv-rooted-out'], 'drv-rooted-out').drv),
      kind: 'gcroot',
    });
  });

  it('finds indirect roots through auto/ under the name of the link they point to', () => {
    expect(scan.roots).toContainEqual({ link: rooted.links.indirect, base: base('kept-indirect'), kind: 'indirect' });
  });

  it('finds every profile generation once, as a profile', () => {
    const profiles = scan.roots.filter((r) => r.base === base('kept-profile') || r.base === base('kept-profile-old'));
    expect(profiles.map((r) => [path.basename(r.link), r.kind]).sort()).toEqual([
      ['profile-1-link', 'profile'],
      ['profile-2-link', 'profile'],
    ]);
  });

  it('takes temporary roots only from files a live process holds locked', () => {
    expect(scan.roots).toContainEqual({ link: `{temp:${path.basename(rooted.links.temporary)}}`, base: base('kept-temp'), kind: 'temporary' });
    expect(scan.temporaryHashes.has(base('kept-temp').slice(0, 32))).toBe(true);
    expect(scan.temporaryHashes.has(base('dead-stale-temp').slice(0, 32))).toBe(false);
    expect(scan.staleTemporaryFiles).toBe(1);
    expect(scan.temporaryLockCheck).toBe(true);
  });

  it('counts stale auto/ links and links to invalid paths without taking them as roots', () => {
    expect(scan.staleIndirect).toBe(1);
    expect(scan.invalidTargets).toBe(1);
    expect(scan.roots.map((r) => r.base)).not.toContain(base('dead-stale-auto'));
    expect(scan.unreadable).toEqual([]);
  });

  it('returns nothing for a state directory without roots', () => {
    const empty = findGcRoots({ stateDir: path.join(rooted.store.root, 'nowhere'), storeDir: '/nix/store', isValid: () => true });
    expect(empty.roots).toEqual([]);
    expect(empty.unreadable).toEqual([]);
  });
});
