import { canonicalJson } from './canonical-json.js';
import { verifyBytes, type KeyRing, type Signer } from './signing-keys.js';

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

/**
 * Checks a document read from Redis (any shape: it is input): its kind, that its key is in `ring`,
 * and the signature. Returns the body; throws SignatureError with the reason otherwise.
 */
export function verifyDocument<T>(input: unknown, kind: SignedKind, ring: KeyRing): { body: T; kid: string } {
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
  if (sig.toString('base64') !== doc.sig || !verifyBytes(key, bytes, sig)) throw new SignatureError(`${kind} with a bad signature (key ${doc.kid})`);
  return { body: doc.body as T, kid: doc.kid };
}
