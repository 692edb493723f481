import { describe, expect, it } from 'vitest';
import { markLive } from '../../../jobs/store-usage/mark-live.js';
import { makeSnapshot } from '../../clients/nix-store/make-snapshot.js';

// 0 app -> 1 lib -> 2 glibc; 3 app.drv built 0 and lists it; 4 old (refers to glibc); 5 lib.drv lists 1
const snapshot = makeSnapshot({
  names: ['app', 'lib', 'glibc', 'app.drv', 'old', 'lib.drv'],
  refs: [[1], [2, 1], [], [5], [2], []],
  outputs: [
    [3, 0],
    [5, 1],
  ],
  builtFrom: [[0, 3]],
});

const liveNames = (live: Uint8Array): string[] => [...live].flatMap((flag, i) => (flag ? [(snapshot.paths[i] ?? '').slice(44)] : []));

describe('markLive', () => {
  it('keeps what a root refers to, directly or not, and nothing that only refers to it', () => {
    expect(liveNames(markLive(snapshot, [1], { keepOutputs: false, keepDerivations: false }))).toEqual(['lib', 'glibc']);
  });

  it('keeps the derivation an output names as its deriver when keep-derivations is set', () => {
    const live = liveNames(markLive(snapshot, [0], { keepOutputs: false, keepDerivations: true }));
    expect(live).toEqual(['app', 'lib', 'glibc', 'app.drv', 'lib.drv']);
  });

  it('does not keep a derivation the output does not name as deriver', () => {
    // lib.drv lists lib as output, but lib does not name it: only the reference from app.drv keeps it.
    const live = liveNames(markLive(snapshot, [1], { keepOutputs: false, keepDerivations: true }));
    expect(live).toEqual(['lib', 'glibc']);
  });

  it('keeps the outputs of a live derivation when keep-outputs is set', () => {
    expect(liveNames(markLive(snapshot, [5], { keepOutputs: true, keepDerivations: false }))).toEqual(['lib', 'glibc', 'lib.drv']);
    expect(liveNames(markLive(snapshot, [5], { keepOutputs: false, keepDerivations: false }))).toEqual(['lib.drv']);
  });

  it('ignores roots outside the snapshot and marks nothing without roots', () => {
    expect(liveNames(markLive(snapshot, [-1, 99], { keepOutputs: true, keepDerivations: true }))).toEqual([]);
  });
});
