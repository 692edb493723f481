import { fingerprintOf } from '../../src/secrets/host-keys.js';
import { sealToHost } from '../../src/secrets/sealed-box.js';

/** A runner token on its way to a host: only that host's key opens it, so it may pass through Redis. */
export interface SealedToken {
  /** The token sealed to the host's public key (base64). */
  sealedToken: string;
  /** Fingerprint of the key it was sealed to, so the host names a key mismatch before opening. */
  sealedTo: string;
}

/** Seals a new runner token (from a creation or a reset) to the host's published public key. */
export async function sealForHost(token: string, publicKey: string): Promise<SealedToken> {
  return { sealedToken: await sealToHost(token, publicKey), sealedTo: fingerprintOf(publicKey) };
}
