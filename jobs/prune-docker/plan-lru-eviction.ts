import type { ImageFacts, PruneState } from '../../src/clients/docker/read-prune-state.js';

export interface LruEviction {
  /** The images to remove, least recently used first. */
  images: ImageFacts[];
  /** Bytes their removal frees, as the layer accounting predicts it (the same figure the prune reports). */
  predictedBytes: number;
  /** The last use each evicted image was ranked by (ms since epoch), in the same order. */
  lastUsedAt: number[];
}

/**
 * Picks images to evict: the least recently used first (by `lastUse`, else the image's creation time,
 * ties by id), one at a time, until the predicted bytes freed reach `neededBytes`. `candidates` are the
 * images a prune may take at all (unused, unprotected, not the nix-daemon's). `bytesFreed` measures a
 * set of removals. Pure: the dry run and the real run pick the same images from the same state.
 */
export function planLruEviction(
  candidates: readonly ImageFacts[],
  lastUse: ReadonlyMap<string, number>,
  neededBytes: number,
  bytesFreed: (removed: ReadonlySet<string>) => number,
): LruEviction {
  const usedAt = (image: ImageFacts): number => lastUse.get(image.id) ?? image.createdAt;
  const order = [...candidates].sort((a, b) => usedAt(a) - usedAt(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const chosen: ImageFacts[] = [];
  const removed = new Set<string>();
  let predictedBytes = 0;
  for (const image of order) {
    if (predictedBytes >= neededBytes) break;
    chosen.push(image);
    removed.add(image.id);
    predictedBytes = bytesFreed(removed);
  }
  return { images: chosen, predictedBytes, lastUsedAt: chosen.map(usedAt) };
}

/** Free bytes a target asks for on a filesystem of `totalBytes`. */
export function targetFreeBytes(target: { percent?: number; bytes?: number }, totalBytes: number): number {
  return target.bytes ?? Math.ceil((totalBytes * (target.percent ?? 0)) / 100);
}

export type { PruneState };
