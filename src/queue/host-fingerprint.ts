import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/**
 * A host's identity as a person confirms it at enrolment: SHA-256 over both of its public keys (the
 * Ed25519 key it signs results with and the X25519 key runner tokens are sealed to), written like an
 * SSH host key fingerprint. `runnerops fingerprint` prints it on the host itself.
 */
export function hostFingerprint(signPublicKey: string, boxPublicKey: string): string {
  return `SHA256:${createHash('sha256')
    .update(canonicalJson({ box: boxPublicKey, sign: signPublicKey }))
    .digest('base64')
    .replace(/=+$/, '')}`;
}

export function isFingerprint(text: string): boolean {
  return /^SHA256:[A-Za-z0-9+/]{43}$/.test(text);
}
