/** Names remembered at most; past this the cache starts again (hosts that left leave their entry behind). */
const MAX_NAMES = 20_000;

/**
 * Remembers, per name, the last stored value and what parsing and verifying it gave. A host entry or an
 * enrolment record whose bytes did not change is not verified again: the same bytes verify the same
 * way. With a thousand hosts, every command lists them all; this keeps that from costing a thousand
 * Ed25519 verifications each time.
 */
export function createVerifiedCache<T>(verify: (raw: string) => T): (name: string, raw: string) => T {
  const last = new Map<string, { raw: string; value: T }>();
  return (name, raw) => {
    const hit = last.get(name);
    if (hit !== undefined && hit.raw === raw) return hit.value;
    const value = verify(raw);
    if (last.size >= MAX_NAMES) last.clear();
    last.set(name, { raw, value });
    return value;
  };
}
