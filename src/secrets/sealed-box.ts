import sodium from 'libsodium-wrappers';
import { UserError } from '../errors.js';
import type { HostKeys } from './host-keys.js';

/**
 * Seals `secret` to a host's base64 X25519 public key (libsodium sealed box: an ephemeral sender key,
 * so only the host's secret key opens it). Returns base64 that may travel through Redis and logs.
 */
export async function sealToHost(secret: string, publicKeyBase64: string): Promise<string> {
  await sodium.ready;
  let publicKey: Uint8Array;
  try {
    publicKey = sodium.from_base64(publicKeyBase64, sodium.base64_variants.ORIGINAL);
  } catch {
    throw new UserError('the host published a public key that is not base64; restart its worker');
  }
  if (publicKey.length !== sodium.crypto_box_PUBLICKEYBYTES) {
    throw new UserError(`the host published a ${publicKey.length}-byte public key, expected ${sodium.crypto_box_PUBLICKEYBYTES}; restart its worker`);
  }
  return sodium.to_base64(sodium.crypto_box_seal(sodium.from_string(secret), publicKey), sodium.base64_variants.ORIGINAL);
}

/** Opens a sealed box addressed to this host (see HostKeys.openSealed). */
export async function openFromHost(sealedBase64: string, keys: Pick<HostKeys, 'openSealed'>): Promise<string> {
  return keys.openSealed(sealedBase64);
}
