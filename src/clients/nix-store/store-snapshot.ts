/**
 * One consistent view of a Nix store's valid paths and the edges between them, in compact typed arrays.
 * Paths are numbered 0..count-1; edges are kept in CSR form (the edges of path i are
 * `targets[start[i]] .. targets[start[i + 1] - 1]`), so 100,000 paths with a million references take a
 * few megabytes and every walk is a tight loop over integers.
 */
export interface StoreSnapshot {
  /** The logical store directory the paths are in, as Nix records them (e.g. `/nix/store`). */
  storeDir: string;
  /** Full store path of each path. */
  paths: string[];
  /** NAR size of each path in bytes (0 when Nix recorded none). */
  narSize: Float64Array;
  /**
   * For each path, the valid derivation it was built from when that derivation also lists it among its
   * outputs (the edge `keep-derivations` follows), else -1.
   */
  builtFrom: Int32Array;
  /** References (what each path refers to), CSR offsets: length count + 1. */
  refStart: Int32Array;
  /** References, CSR targets. Self-references are kept, as in the database. */
  refTargets: Int32Array;
  /** Valid outputs of each derivation as recorded in DerivationOutputs (the edges `keep-outputs` follows), CSR offsets (count + 1). */
  outputStart: Int32Array;
  /** Valid outputs of each derivation, CSR targets. */
  outputTargets: Int32Array;
}

/** Builds CSR arrays from edge pairs (`from[k] -> to[k]` for k < length); order within a row is kept. */
export function buildCsr(count: number, from: Int32Array, to: Int32Array, length: number): { start: Int32Array; targets: Int32Array } {
  const start = new Int32Array(count + 1);
  let sorted = true;
  for (let k = 0; k < length; k++) {
    start[from[k]! + 1]!++;
    if (k > 0 && from[k]! < from[k - 1]!) sorted = false;
  }
  for (let i = 0; i < count; i++) start[i + 1]! += start[i]!;
  // Rows read in referrer order (as Nix inserts them) are CSR order already.
  if (sorted) return { start, targets: to.slice(0, length) };
  const fill = start.slice(0, count);
  const targets = new Int32Array(length);
  for (let k = 0; k < length; k++) targets[fill[from[k]!]!++] = to[k]!;
  return { start, targets };
}

/**
 * A snapshot from what a reader collected: the paths with their sizes and derivations, and the
 * reference and output edges (path indexes), which become CSR arrays.
 */
export function assembleSnapshot(parts: {
  storeDir: string;
  paths: string[];
  narSize: Float64Array;
  builtFrom: Int32Array;
  refs: EdgeList;
  outputs: EdgeList;
}): StoreSnapshot {
  const count = parts.paths.length;
  const refCsr = buildCsr(count, parts.refs.from, parts.refs.to, parts.refs.length);
  const outputCsr = buildCsr(count, parts.outputs.from, parts.outputs.to, parts.outputs.length);
  return {
    storeDir: parts.storeDir,
    paths: parts.paths,
    narSize: parts.narSize,
    builtFrom: parts.builtFrom,
    refStart: refCsr.start,
    refTargets: refCsr.targets,
    outputStart: outputCsr.start,
    outputTargets: outputCsr.targets,
  };
}

/** Map from base name (`<hash>-<name>`) to path index; built once per report for root lookups. */
export function indexByBaseName(snapshot: StoreSnapshot): Map<string, number> {
  const cut = snapshot.storeDir.length + 1;
  const byName = new Map<string, number>();
  for (let i = 0; i < snapshot.paths.length; i++) byName.set(snapshot.paths[i]!.slice(cut), i);
  return byName;
}

/** Number of references in a snapshot. */
export function countReferences(snapshot: StoreSnapshot): number {
  return snapshot.refTargets.length;
}

/** A growable pair of Int32Arrays for collecting edges before `buildCsr`. */
export class EdgeList {
  from: Int32Array;
  to: Int32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.from = new Int32Array(Math.max(16, capacity));
    this.to = new Int32Array(Math.max(16, capacity));
  }

  push(a: number, b: number): void {
    if (this.length === this.from.length) {
      const size = this.from.length * 2;
      const from = new Int32Array(size);
      const to = new Int32Array(size);
      from.set(this.from);
      to.set(this.to);
      this.from = from;
      this.to = to;
    }
    this.from[this.length] = a;
    this.to[this.length] = b;
    this.length++;
  }
}
