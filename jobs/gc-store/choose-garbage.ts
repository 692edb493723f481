import type { DeadPath } from '../../src/clients/nix-store/collect-garbage.js';

export type { DeadPath } from '../../src/clients/nix-store/collect-garbage.js';

export interface GarbageChoice {
  /** The paths to delete, each after every path that refers to it (the order `nix-store --delete` can take them in). */
  paths: string[];
  narBytes: number;
}

/**
 * Which dead paths a GC limited to `maxFreedBytes` deletes: the least recently registered first, each
 * with every dead path that refers to it (Nix deletes those with it), until the NAR sizes reach the
 * limit. Without a limit, every dead path. Pure: the dry run and the real run choose the same set from
 * the same garbage.
 */
export function chooseGarbage(dead: readonly DeadPath[], maxFreedBytes?: number): GarbageChoice {
  const byPath = new Map(dead.map((d) => [d.path, d]));
  const referrers = new Map<string, string[]>();
  for (const d of dead) {
    for (const ref of d.references) {
      if (ref === d.path || !byPath.has(ref)) continue;
      const list = referrers.get(ref);
      if (list) list.push(d.path);
      else referrers.set(ref, [d.path]);
    }
  }
  const chosen = new Set<string>();
  let narBytes = 0;
  const take = (start: string): void => {
    const stack = [start];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (chosen.has(p)) continue;
      chosen.add(p);
      narBytes += byPath.get(p)!.narSize;
      for (const r of referrers.get(p) ?? []) if (!chosen.has(r)) stack.push(r);
    }
  };
  if (maxFreedBytes === undefined) {
    for (const d of dead) take(d.path);
    return { paths: referrersFirst(chosen, byPath, referrers), narBytes };
  }
  const order = dead.filter((d) => d.valid).sort((a, b) => a.registrationTime - b.registrationTime || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const d of order) {
    if (narBytes >= maxFreedBytes) break;
    take(d.path);
  }
  return { paths: referrersFirst(chosen, byPath, referrers), narBytes };
}

/** Kahn's order over the chosen paths: a path comes once every chosen path referring to it came. */
function referrersFirst(chosen: ReadonlySet<string>, byPath: ReadonlyMap<string, DeadPath>, referrers: ReadonlyMap<string, string[]>): string[] {
  const waiting = new Map<string, number>();
  for (const p of chosen) waiting.set(p, (referrers.get(p) ?? []).filter((r) => chosen.has(r)).length);
  const ready = [...chosen].filter((p) => waiting.get(p) === 0).sort();
  const out: string[] = [];
  while (ready.length > 0) {
    const p = ready.shift()!;
    out.push(p);
    for (const ref of byPath.get(p)!.references) {
      if (ref === p || !chosen.has(ref)) continue;
      const left = waiting.get(ref)! - 1;
      waiting.set(ref, left);
      if (left === 0) ready.push(ref);
    }
  }
  // Reference cycles cannot occur in a store; anything left (none) goes last, in name order.
  if (out.length < chosen.size) out.push(...[...chosen].filter((p) => !out.includes(p)).sort());
  return out;
}
