import { canonicalJson } from './canonical-json.js';
import { verifyBytes, verifyBytesInPool, type KeyRing, type Signer } from './signing-keys.js';
import type { KeyObject } from 'node:crypto';

/**
 * What travels through Redis when it must not be forged: a body, the kind of document it is (so a
 * signature over one kind never passes for another), the signer's key id and an Ed25519 signature
 * over `canonicalJson({ kind, body })`.
 */
export interface Signed<T> {
  kind: SignedKind;
  body: T;
  kid: string;
  sig: string;
}

export type SignedKind = 'job' | 'event' | 'notice' | 'host-entry' | 'enrolment' | 'approval' | 'decision' | 'watch-settings' | 'cli-request';

/** Why a signed document was refused; `reason` is one line for logs, audit and the security notice. */
export class SignatureError extends Error {
  override name = 'SignatureError';
}

function signedBytes(kind: SignedKind, body: unknown): Buffer {
  return Buffer.from(canonicalJson({ kind, body }));
}

export function signDocument<T>(signer: Signer, kind: SignedKind, body: T): Signed<T> {
  return { kind, body, kid: signer.kid, sig: signer.sign(signedBytes(kind, body)).toString('base64') };
}

/** A document whose form was checked: what is left is the signature itself. */
interface Presented<T> {
  body: T;
  kid: string;
  key: KeyObject;
  bytes: Buffer;
  sig: Buffer;
}

/** Every check of `verifyDocument` but the signature's: kind, key id in `ring`, encoding, one canonical base64. */
function presented<T>(input: unknown, kind: SignedKind, ring: KeyRing): Presented<T> {
  const doc = input as Partial<Signed<T>> | null | undefined;
  if (!doc || typeof doc !== 'object' || typeof doc.sig !== 'string' || typeof doc.kid !== 'string' || !('body' in doc)) {
    throw new SignatureError(`unsigned ${kind}`);
  }
  if (doc.kind !== kind) throw new SignatureError(`a ${String(doc.kind)} signature presented as a ${kind}`);
  const key = ring.get(doc.kid);
  if (!key) throw new SignatureError(`${kind} signed by unknown key ${doc.kid.slice(0, 16)}`);
  let bytes: Buffer;
  try {
    bytes = signedBytes(kind, doc.body);
  } catch {
    throw new SignatureError(`${kind} that cannot be encoded`);
  }
  const sig = Buffer.from(doc.sig, 'base64');
  // Only the one canonical base64 spelling of the signature: no two different documents verify alike.
  if (sig.toString('base64') !== doc.sig) throw badSignature(kind, doc.kid);
  return { body: doc.body as T, kid: doc.kid, key, bytes, sig };
}

const badSignature = (kind: SignedKind, kid: string) => new SignatureError(`${kind} with a bad signature (key ${kid})`);

/**
 * Checks a document read from Redis (any shape: it is input): its kind, that its key is in `ring`,
 * and the signature. Returns the body; throws SignatureError with the reason otherwise.
 */
export function verifyDocument<T>(input: unknown, kind: SignedKind, ring: KeyRing): { body: T; kid: string } {
  const { body, kid, key, bytes, sig } = presented<T>(input, kind, ring);
  if (!verifyBytes(key, bytes, sig)) throw badSignature(kind, kid);
  return { body, kid };
}

/** `verifyDocument` with the signature checked on the thread pool (see `verifyBytesInPool`). */
export async function verifyDocumentInPool<T>(input: unknown, kind: SignedKind, ring: KeyRing): Promise<{ body: T; kid: string }> {
  const { body, kid, key, bytes, sig } = presented<T>(input, kind, ring);
  if (!(await verifyBytesInPool(key, bytes, sig))) throw badSignature(kind, kid);
  return { body, kid };
}
