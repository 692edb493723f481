import type { StoreSnapshot } from '../../src/clients/nix-store/store-snapshot.js';

/** A closure's size: the path and everything it refers to, directly or not (as `nix path-info -S`). */
export interface ClosureSize {
  paths: number;
  narBytes: number;
}

/**
 * Returns a function that measures closures over references only (not the keep-* edges). Its scratch
 * arrays are reused between calls, so measuring many closures allocates nothing per call.
 */
export function createClosureMeter(snapshot: StoreSnapshot): (index: number) => ClosureSize {
  const { refStart, refTargets, narSize } = snapshot;
  const seen = new Int32Array(snapshot.paths.length);
  const stack = new Int32Array(snapshot.paths.length);
  let stamp = 0;
  return (index) => {
    stamp++;
    let top = 0;
    let paths = 1;
    let bytes = narSize[index]!;
    seen[index] = stamp;
    stack[top++] = index;
    while (top > 0) {
      const path = stack[--top]!;
      for (let e = refStart[path]!, end = refStart[path + 1]!; e < end; e++) {
        const next = refTargets[e]!;
        if (seen[next] !== stamp) {
          seen[next] = stamp;
          stack[top++] = next;
          paths++;
          bytes += narSize[next]!;
        }
      }
    }
    return { paths, narBytes: bytes };
  };
}

/**
 * Roots measured together per pass: 32 bits per word, this many words per path. Few words keep the
 * bit sets of a million-path store in the CPU's cache and let a pass skip the paths none of its
 * roots reach: on a million paths 2 words (64 roots a pass) take half the time 16 did.
 */
const WORDS_PER_PASS = 2;

/**
 * Measures the closures of many paths at once. In a store every closure shares most of its paths
 * (glibc, coreutils...), so walking each closure separately repeats the same work hundreds of
 * times; instead each path gets a bit set of the requested paths that reach it, propagated along
 * references in topological order, 64 requested paths per pass. Falls back to one walk per path
 * if the references contain a cycle (Nix forbids them, apart from self-references).
 */
export function measureClosures(snapshot: StoreSnapshot, indices: ArrayLike<number>): ClosureSize[] {
  if (indices.length === 0) return [];
  const topological = orderTopologically(snapshot, indices);
  if (topological === undefined) {
    const measure = createClosureMeter(snapshot);
    return Array.from({ length: indices.length }, (_, k) => measure(indices[k]!));
  }
  const { narSize } = snapshot;
  const { order, position, childStart, children } = topological;
  const words = Math.min(WORDS_PER_PASS, Math.ceil(indices.length / 32));
  const reach = new Int32Array(order.length * words);
  const paths = new Int32Array(indices.length);
  const bytes = new Float64Array(indices.length);
  // Requested paths by position, so each pass covers neighbours and its walk starts at the highest
  // of its paths: nothing after that in `order` is in their closures.
  const byPosition = Array.from({ length: indices.length }, (_, k) => k).sort((a, b) => position[indices[a]!]! - position[indices[b]!]!);
  for (let first = 0; first < indices.length; first += words * 32) {
    const last = Math.min(indices.length, first + words * 32);
    reach.fill(0);
    let highest = 0;
    for (let k = first; k < last; k++) {
      const bit = k - first;
      const at = position[indices[byPosition[k]!]!]!;
      reach[at * words + (bit >> 5)]! |= 1 << (bit & 31);
      highest = Math.max(highest, at);
    }
    // `order` lists referrers after their references: walking it backwards, each path's set is
    // complete when it is reached, so it is counted and then passed on to the path's references.
    for (let p = highest; p >= 0; p--) {
      const base = p * words;
      let any = 0;
      for (let w = 0; w < words; w++) any |= reach[base + w]!;
      if (any === 0) continue;
      const size = narSize[order[p]!]!;
      for (let w = 0; w < words; w++) {
        let bits = reach[base + w]!;
        while (bits !== 0) {
          const low = bits & -bits;
          const k = byPosition[first + w * 32 + (31 - Math.clz32(low))]!;
          paths[k]!++;
          bytes[k]! += size;
          bits ^= low;
        }
      }
      for (let e = childStart[p]!, end = childStart[p + 1]!; e < end; e++) {
        const childBase = children[e]! * words;
        for (let w = 0; w < words; w++) reach[childBase + w]! |= reach[base + w]!;
      }
    }
  }
  return Array.from({ length: indices.length }, (_, k) => ({ paths: paths[k]!, narBytes: bytes[k]! }));
}

/** Paths in post-order with their references renumbered by position in it (CSR, self-references left out). */
interface TopologicalOrder {
  /** References before referrers: everything reachable from the starts. */
  order: Int32Array;
  /** Position of each path in `order`, -1 where it is not reached. */
  position: Int32Array;
  /** CSR offsets by position (order.length + 1). */
  childStart: Int32Array;
  /** Positions of the references, so the passes over them read two arrays and nothing else. */
  children: Int32Array;
}

/**
 * Post-order (references before referrers) of everything reachable from `starts`, with each path's
 * references by position (known when it is placed: they are placed before it), or undefined when the
 * references there contain a cycle other than a self-reference.
 */
function orderTopologically(snapshot: StoreSnapshot, starts: ArrayLike<number>): TopologicalOrder | undefined {
  const { refStart, refTargets } = snapshot;
  const count = snapshot.narSize.length;
  const state = new Uint8Array(count); // 0 new, 1 on the stack, 2 done
  const stack = new Int32Array(count);
  const edge = new Int32Array(count);
  const order = new Int32Array(count);
  const position = new Int32Array(count).fill(-1);
  const childStart = new Int32Array(count + 1);
  const children = new Int32Array(refTargets.length);
  let placed = 0;
  let placedChildren = 0;
  for (let s = 0; s < starts.length; s++) {
    const start = starts[s]!;
    if (state[start] !== 0) continue;
    let top = 0;
    stack[top++] = start;
    state[start] = 1;
    edge[start] = refStart[start]!;
    while (top > 0) {
      const node = stack[top - 1]!;
      if (edge[node]! < refStart[node + 1]!) {
        const child = refTargets[edge[node]!++]!;
        if (child === node) continue;
        if (state[child] === 1) return undefined;
        if (state[child] === 0) {
          state[child] = 1;
          edge[child] = refStart[child]!;
          stack[top++] = child;
        }
      } else {
        state[node] = 2;
        childStart[placed] = placedChildren;
        for (let e = refStart[node]!, end = refStart[node + 1]!; e < end; e++) {
          const child = refTargets[e]!;
          if (child !== node) children[placedChildren++] = position[child]!;
        }
        position[node] = placed;
        order[placed++] = node;
        top--;
      }
    }
  }
  childStart[placed] = placedChildren;
  return { order: order.subarray(0, placed), position, childStart: childStart.subarray(0, placed + 1), children: children.subarray(0, placedChildren) };
}
