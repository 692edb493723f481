import type { Redis } from 'ioredis';
import { keys } from './names.js';
import { signDocument, verifyDocument } from './signed.js';
import type { KeyRing, Signer } from './signing-keys.js';
import type { HostStatus } from './host-registry.js';
import { createVerifiedCache } from './verified-cache.js';

/** A person confirmed this fingerprint for this host (written by the bot, signed with its key). */
export interface EnrolmentBody {
  host: string;
  fingerprint: string;
  /** Who enrolled it: the approver(s), or `pinned` for a fingerprint from the bot's config. */
  by: string;
  at: number;
  approvalId?: string;
}

export async function writeEnrolment(redis: Redis, prefix: string, signer: Signer, body: EnrolmentBody): Promise<void> {
  await redis.hset(keys.enrolled(prefix), body.host, JSON.stringify(signDocument(signer, 'enrolment', body)));
}

/**
 * The enrolled fingerprint per host: records in Redis that verify with a bot key, overridden by the
 * fingerprints pinned in the bot's own config. A record that does not verify counts as absent.
 */
/** Per bot key ring: each stored enrolment record, verified once per change of its bytes. */
const verifiedEnrolments = new WeakMap<KeyRing, (host: string, raw: string) => EnrolmentBody | undefined>();

function enrolmentVerifier(ring: KeyRing): (host: string, raw: string) => EnrolmentBody | undefined {
  let verify = verifiedEnrolments.get(ring);
  if (!verify) {
    verify = createVerifiedCache((raw) => {
      try {
        return verifyDocument<EnrolmentBody>(JSON.parse(raw), 'enrolment', ring).body;
      } catch {
        // Not signed by the bot: not an enrolment.
        return undefined;
      }
    });
    verifiedEnrolments.set(ring, verify);
  }
  return verify;
}

export async function readEnrolments(redis: Redis, prefix: string, ring: KeyRing, pinned: ReadonlyMap<string, string>): Promise<Map<string, string>> {
  const all = await redis.hgetall(keys.enrolled(prefix));
  const enrolled = new Map<string, string>();
  const verify = enrolmentVerifier(ring);
  for (const [host, raw] of Object.entries(all)) {
    const body = verify(host, raw);
    if (body !== undefined && body.host === host && typeof body.fingerprint === 'string') enrolled.set(host, body.fingerprint);
  }
  for (const [host, fingerprint] of pinned) enrolled.set(host, fingerprint);
  return enrolled;
}

/** Marks each host enrolled, pending, key-changed or unsigned against the enrolled fingerprints. */
export function withTrust(hosts: HostStatus[], enrolled: ReadonlyMap<string, string>): HostStatus[] {
  return hosts.map((host) => {
    const expected = enrolled.get(host.name);
    if (!host.fingerprint) return { ...host, trust: 'unsigned' as const, ...(expected ? { enrolledFingerprint: expected } : {}) };
    if (expected === undefined) return { ...host, trust: 'pending' as const };
    if (expected !== host.fingerprint) return { ...host, trust: 'key-changed' as const, enrolledFingerprint: expected };
    return { ...host, trust: 'enrolled' as const };
  });
}
