import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { selectTop } from '../../../jobs/store-usage/select-top.js';

describe('selectTop', () => {
  it('returns the indices of the largest scores, largest first, lower index first on ties', () => {
    expect(selectTop([5, 9, 1, 9, 7], 3)).toEqual([1, 3, 4]);
  });

  it('picks only among the candidates when given', () => {
    expect(selectTop([5, 9, 1, 9, 7], 2, [0, 2, 4])).toEqual([4, 0]);
  });

  it('agrees with a full sort for any scores', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 })), fc.integer({ min: 0, max: 12 }), (scores, n) => {
        const sorted = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
        expect(selectTop(scores, n)).toEqual(sorted.slice(0, n));
      }),
    );
  });
});
