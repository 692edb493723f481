import { buildCsr, type StoreSnapshot } from '../../../src/clients/nix-store/store-snapshot.js';

/** A path for hand-made snapshots: `/nix/store/<32 x c>-<name>` with a distinct hash per index. */
export function fakePath(index: number, name: string): string {
  const hash = index
    .toString(32)
    .padStart(32, '0')
    .replace(/[eotu]/g, 'a');
  return `/nix/store/${hash}-${name}`;
}

/**
 * A snapshot from names, sizes and edges, for unit tests of the in-memory walks.
 * `refs[i]` are the references of path i; `outputs` are [drv, out] pairs (DerivationOutputs) and
 * `builtFrom` [out, drv] pairs (outputs naming their deriver).
 */
export function makeSnapshot(spec: {
  names: string[];
  sizes?: number[];
  refs?: number[][];
  outputs?: Array<[number, number]>;
  builtFrom?: Array<[number, number]>;
}): StoreSnapshot {
  const count = spec.names.length;
  const pairs = (list: Array<[number, number]>): { start: Int32Array; targets: Int32Array } =>
    buildCsr(count, Int32Array.from(list.map((p) => p[0])), Int32Array.from(list.map((p) => p[1])), list.length);
  const refPairs: Array<[number, number]> = [];
  (spec.refs ?? []).forEach((targets, from) => targets.forEach((to) => refPairs.push([from, to])));
  const refs = pairs(refPairs);
  const outputs = pairs(spec.outputs ?? []);
  const builtFrom = new Int32Array(count).fill(-1);
  for (const [out, drv] of spec.builtFrom ?? []) builtFrom[out] = drv;
  return {
    storeDir: '/nix/store',
    paths: spec.names.map((name, i) => fakePath(i, name)),
    narSize: Float64Array.from(spec.sizes ?? spec.names.map(() => 100)),
    builtFrom,
    refStart: refs.start,
    refTargets: refs.targets,
    outputStart: outputs.start,
    outputTargets: outputs.targets,
  };
}
