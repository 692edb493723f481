import type { StoreSnapshot } from '../../src/clients/nix-store/store-snapshot.js';
import type { GcSettings } from '../../src/clients/nix-store/read-gc-settings.js';

export { DEFAULT_GC_SETTINGS, type GcSettings } from '../../src/clients/nix-store/read-gc-settings.js';

/** The Nix settings that change what counts as live. */
/**
 * Marks every path reachable from the roots (1 = live), following references plus the edges the
 * settings add, exactly the edges Nix's collector walks backwards from each candidate: with
 * keep-derivations an output keeps the derivation that lists it as output and that it names as its
 * deriver; with keep-outputs a derivation keeps the valid outputs DerivationOutputs lists for it.
 */
export function markLive(snapshot: StoreSnapshot, roots: ArrayLike<number>, settings: GcSettings): Uint8Array {
  const count = snapshot.paths.length;
  const live = new Uint8Array(count);
  const stack = new Int32Array(count);
  let top = 0;
  for (let k = 0; k < roots.length; k++) {
    const root = roots[k]!;
    if (root >= 0 && root < count && live[root] === 0) {
      live[root] = 1;
      stack[top++] = root;
    }
  }
  const { refStart, refTargets, builtFrom, outputStart, outputTargets } = snapshot;
  const { keepOutputs, keepDerivations } = settings;
  while (top > 0) {
    const path = stack[--top]!;
    for (let e = refStart[path]!, end = refStart[path + 1]!; e < end; e++) {
      const next = refTargets[e]!;
      if (live[next] === 0) {
        live[next] = 1;
        stack[top++] = next;
      }
    }
    if (keepDerivations) {
      const drv = builtFrom[path]!;
      if (drv >= 0 && live[drv] === 0) {
        live[drv] = 1;
        stack[top++] = drv;
      }
    }
    if (keepOutputs) {
      for (let e = outputStart[path]!, end = outputStart[path + 1]!; e < end; e++) {
        const next = outputTargets[e]!;
        if (live[next] === 0) {
          live[next] = 1;
          stack[top++] = next;
        }
      }
    }
  }
  return live;
}
