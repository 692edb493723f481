import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createClosureMeter, measureClosures } from '../../../jobs/store-usage/measure-closure.js';
import { makeSnapshot } from '../../clients/nix-store/make-snapshot.js';

const diamond = makeSnapshot({
  names: ['top', 'left', 'right', 'base'],
  sizes: [1, 10, 100, 1000],
  refs: [[0, 1, 2], [3], [3], [3]],
});

describe('createClosureMeter', () => {
  it('counts a shared dependency once and a self-reference not at all', () => {
    const measure = createClosureMeter(diamond);
    expect(measure(0)).toEqual({ paths: 4, narBytes: 1111 });
    expect(measure(1)).toEqual({ paths: 2, narBytes: 1010 });
    expect(measure(3)).toEqual({ paths: 1, narBytes: 1000 });
  });
});

describe('measureClosures', () => {
  it('gives the same sizes as walking each closure, for any acyclic store', () => {
    const graph = fc
      .integer({ min: 1, max: 80 })
      .chain((n) =>
        fc.tuple(
          fc.constant(n),
          fc.array(fc.array(fc.nat(), { maxLength: 6 }), { minLength: n, maxLength: n }),
          fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: n, maxLength: n }),
          fc.array(fc.nat(), { minLength: 1, maxLength: 700 }),
        ),
      );
    fc.assert(
      fc.property(graph, ([n, rawRefs, sizes, rawRoots]) => {
        // References only to lower indices (plus self): acyclic, as Nix guarantees.
        const refs = rawRefs.map((targets, i) => targets.map((t) => t % (i + 1)));
        const snapshot = makeSnapshot({ names: refs.map((_, i) => `p${i}`), sizes, refs });
        const roots = rawRoots.map((r) => r % n);
        const measure = createClosureMeter(snapshot);
        expect(measureClosures(snapshot, roots)).toEqual(roots.map((r) => measure(r)));
      }),
      { numRuns: 60 },
    );
  });

  it('falls back to one walk per path when references form a cycle', () => {
    const cyclic = makeSnapshot({ names: ['a', 'b', 'c'], sizes: [1, 2, 4], refs: [[1], [2], [0]] });
    expect(measureClosures(cyclic, [0, 2])).toEqual([
      { paths: 3, narBytes: 7 },
      { paths: 3, narBytes: 7 },
    ]);
  });

  it('returns nothing for no paths', () => {
    expect(measureClosures(diamond, [])).toEqual([]);
  });
});
