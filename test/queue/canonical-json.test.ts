import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/queue/canonical-json.js';

describe('canonicalJson', () => {
  it('writes one spelling for equal values: keys sorted at every depth, undefined members left out', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });

  it('refuses what JSON cannot carry faithfully', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow('numbers must be finite');
    expect(() => canonicalJson({ f: () => 1 })).toThrow('cannot encode a function');
  });
});
