import { HASH_PART_LENGTH } from './store-path.js';

/** Finds valid paths of a snapshot by base name or by hash part. */
export interface StorePathIndex {
  /** Index of the path with this base name (`<hash>-<name>`), or -1 when it is not valid. */
  byBase: (base: string) => number;
  /** Indexes of the paths whose hash part is `hash` (Nix keeps all of them for a temporary root). */
  byHashPart: (hash: string) => number[];
}

/**
 * An index of store paths by their hash part: one open-addressing table of path indexes (an
 * Int32Array about twice the path count), so a million paths cost 8 MB and no string is copied,
 * where a Map of base names would make a million strings and take most of a second.
 */
export function indexStorePaths(paths: readonly string[], storeDir: string): StorePathIndex {
  // The read builds it to match derivation outputs and the report again for the roots: build it once.
  const known = built.get(paths);
  if (known?.storeDir === storeDir) return known.index;
  const index = buildIndex(paths, storeDir);
  built.set(paths, { storeDir, index });
  return index;
}

/** Indexes already built, by the paths array they index (which nothing changes after the read). */
const built = new WeakMap<readonly string[], { storeDir: string; index: StorePathIndex }>();

function buildIndex(paths: readonly string[], storeDir: string): StorePathIndex {
  const cut = storeDir.length + 1;
  let size = 1024;
  while (size < paths.length * 2) size *= 2;
  const mask = size - 1;
  const slots = new Int32Array(size).fill(-1);
  for (let i = 0; i < paths.length; i++) {
    let slot = hashOf(paths[i]!, cut) & mask;
    while (slots[slot] !== -1) slot = (slot + 1) & mask;
    slots[slot] = i;
  }
  const sameHashPart = (path: string, hash: string): boolean => path.startsWith(hash, cut) && hashPartEnd(path, cut) === cut + hash.length;
  return {
    byBase: (base) => {
      for (let slot = hashOf(base, 0) & mask; slots[slot] !== -1; slot = (slot + 1) & mask) {
        const path = paths[slots[slot]!]!;
        if (path.length === cut + base.length && path.startsWith(base, cut)) return slots[slot]!;
      }
      return -1;
    },
    byHashPart: (hash) => {
      const found: number[] = [];
      for (let slot = hashOf(hash, 0) & mask; slots[slot] !== -1; slot = (slot + 1) & mask) {
        if (sameHashPart(paths[slots[slot]!]!, hash)) found.push(slots[slot]!);
      }
      return found.sort((a, b) => a - b);
    },
  };
}

/** Where the hash part of the base name starting at `from` ends: 32 characters, or less for a short name. */
function hashPartEnd(text: string, from: number): number {
  return Math.min(text.length, from + HASH_PART_LENGTH);
}

/** Characters of the hash part that are hashed: its last 8 (40 random bits in a real store). */
const HASHED_CHARS = 8;

/** FNV-1a over the end of the hash part of the base name starting at `from` (its characters are random already). */
function hashOf(text: string, from: number): number {
  let h = 0x811c9dc5;
  const end = hashPartEnd(text, from);
  for (let k = Math.max(from, end - HASHED_CHARS); k < end; k++) h = Math.imul(h ^ text.charCodeAt(k), 0x01000193);
  return h >>> 0;
}
