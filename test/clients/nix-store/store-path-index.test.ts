import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { indexStorePaths } from '../../../src/clients/nix-store/store-path-index.js';
import { fakePath } from './make-snapshot.js';

describe('indexStorePaths', () => {
  const paths = ['gcc-12.3.0', 'glibc-2.39', 'hello-2.12', 'hello-2.12.drv'].map((name, i) => fakePath(i, name));
  const base = (p: string): string => p.slice('/nix/store/'.length);

  it('finds each valid path by its base name', () => {
    const index = indexStorePaths(paths, '/nix/store');
    paths.forEach((p, i) => expect(index.byBase(base(p))).toBe(i));
  });

  it('says -1 for a base name that is not valid, even one that shares a valid hash part', () => {
    const index = indexStorePaths(paths, '/nix/store');
    expect(index.byBase(`${base(paths[2]!)}-extra`)).toBe(-1);
    expect(index.byBase(base(paths[2]!).slice(0, 32))).toBe(-1);
    expect(index.byBase(base(fakePath(9, 'gcc-12.3.0')))).toBe(-1);
  });

  it('finds every path with a given hash part, in index order', () => {
    const shared = `${base(paths[2]!).slice(0, 32)}-other`;
    const index = indexStorePaths([...paths, `/nix/store/${shared}`], '/nix/store');
    expect(index.byHashPart(base(paths[2]!).slice(0, 32))).toEqual([2, 4]);
    expect(index.byHashPart(base(fakePath(9, 'x')).slice(0, 32))).toEqual([]);
  });

  it('answers as a Map of base names would, for any set of names', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[0-9a-z]{1,40}(-[a-z0-9.]{1,8})?$/), { maxLength: 300 }),
        fc.array(fc.stringMatching(/^[0-9a-z-]{1,45}$/), { maxLength: 50 }),
        (names, probes) => {
          const index = indexStorePaths(
            names.map((n) => `/nix/store/${n}`),
            '/nix/store',
          );
          const byName = new Map(names.map((n, i) => [n, i]));
          for (const probe of [...names, ...probes]) expect(index.byBase(probe)).toBe(byName.get(probe) ?? -1);
        },
      ),
    );
  });
});
