import { describe, expect, it } from 'vitest';
import { chooseGarbage, type DeadPath } from '../../../jobs/gc-store/choose-garbage.js';

const dead = (name: string, registrationTime: number, references: string[] = [], narSize = 10, valid = true): DeadPath => ({
  path: `/nix/store/${name}`,
  narSize,
  references: references.map((r) => `/nix/store/${r}`),
  registrationTime,
  valid,
});

describe('chooseGarbage', () => {
  it('takes every dead path without a limit, each after the paths that refer to it', () => {
    const choice = chooseGarbage([dead('a', 1), dead('b', 2, ['a']), dead('c', 3, ['b', 'c']), dead('x.lock', 0, [], 0, false)]);
    expect(choice.paths).toEqual(['/nix/store/c', '/nix/store/x.lock', '/nix/store/b', '/nix/store/a']);
    expect(choice.narBytes).toBe(30);
  });

  it('with a limit takes the oldest first together with its referrers, and leaves what is not a valid path', () => {
    const choice = chooseGarbage([dead('new', 9), dead('old', 1), dead('uses-old', 8, ['old']), dead('x.lock', 0, [], 0, false)], 5);
    expect(choice.paths).toEqual(['/nix/store/uses-old', '/nix/store/old']);
    expect(choice.narBytes).toBe(20);
  });

  it('chooses the same set from the same garbage in any order', () => {
    const paths = [dead('a', 1), dead('b', 1, ['a']), dead('c', 2), dead('d', 3, ['c'])];
    expect(chooseGarbage([...paths].reverse(), 25)).toEqual(chooseGarbage(paths, 25));
  });
});
