import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sodium from 'libsodium-wrappers';
import { PermanentJobError } from '../errors.js';
import { readOrCreateKeyFile } from '../queue/key-file.js';
import { hostFingerprint } from '../queue/host-fingerprint.js';
import { loadOrCreateSigner, type Signer } from '../queue/signing-keys.js';

/** File in RUNNEROPS_STATE_DIR holding this host's X25519 secret key (base64, mode 0600). */
export const HOST_KEY_FILE = 'host-key';
/** File in RUNNEROPS_STATE_DIR holding this host's Ed25519 signing key (base64 seed, mode 0600). */
export const HOST_SIGNING_KEY_FILE = 'host-signing-key';

/**
 * This host's X25519 key pair for sealed runner tokens. The secret key stays inside the closure:
 * serializing the object (logs, JSON) shows only the public key.
 */
export interface HostKeys {
  /** Base64 (standard alphabet) public key, as published in the host registry's `publicKey`. */
  publicKey: string;
  /** Short fingerprint of the public key (first 16 base64 characters), for messages. */
  fingerprint: string;
  /** The Ed25519 key this host signs its registry entry, events, results and notices with. */
  signer: Signer;
  /** The identity a person confirms at enrolment: hostFingerprint(signer.publicKey, publicKey). */
  hostFingerprint: string;
  /** Opens a base64 sealed box addressed to this host; throws if it was sealed to another key. */
  openSealed: (sealedBase64: string) => Promise<string>;
  toJSON: () => { publicKey: string; signPublicKey: string; hostFingerprint: string };
}

/** The fingerprint shown in messages and carried next to a sealed token. */
export function fingerprintOf(publicKeyBase64: string): string {
  return publicKeyBase64.slice(0, 16);
}

async function readOrCreateSecret(file: string): Promise<Uint8Array> {
  const { bytes } = await readOrCreateKeyFile(
    file,
    (f) => new PermanentJobError(`${f} does not hold a 32-byte key; move it away and restart the worker to create a new one`),
  );
  return new Uint8Array(bytes);
}

/**
 * Loads the host key pair from `stateDir` (mode 0700), creating it on first start. Pass the result to
 * the worker as `extraContext: { keys, publicKey: keys.publicKey }`.
 */
export async function loadHostKeys(stateDir: string): Promise<HostKeys> {
  await sodium.ready;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const secretKey = await readOrCreateSecret(path.join(stateDir, HOST_KEY_FILE));
  const publicKeyBytes = sodium.crypto_scalarmult_base(secretKey);
  const publicKey = sodium.to_base64(publicKeyBytes, sodium.base64_variants.ORIGINAL);
  const { signer } = await loadOrCreateSigner(path.join(stateDir, HOST_SIGNING_KEY_FILE));
  const identity = hostFingerprint(signer.publicKey, publicKey);
  return {
    publicKey,
    fingerprint: fingerprintOf(publicKey),
    signer,
    hostFingerprint: identity,
    openSealed: async (sealedBase64) => {
      await sodium.ready;
      let sealed: Uint8Array;
      try {
        sealed = sodium.from_base64(sealedBase64, sodium.base64_variants.ORIGINAL);
      } catch {
        throw new PermanentJobError('the sealed token is not valid base64; it was damaged on the way');
      }
      try {
        return sodium.to_string(sodium.crypto_box_seal_open(sealed, publicKeyBytes, secretKey));
      } catch {
        throw new PermanentJobError(
          `the sealed token cannot be opened with this host's key (${fingerprintOf(publicKey)}); the worker's key changed since the token was sealed: register the runner again`,
        );
      }
    },
    toJSON: () => ({ publicKey, signPublicKey: signer.publicKey, hostFingerprint: identity }),
  };
}
