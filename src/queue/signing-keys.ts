import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { readOrCreateKeyFile } from './key-file.js';
import path from 'node:path';
import { UserError } from '../errors.js';

/** Public keys are written `ed25519:<base64 of the 32 raw bytes>` in config, the registry and docs. */
const PUBLIC_PREFIX = 'ed25519:';
/** DER prefixes that turn 32 raw bytes into the PKCS#8 / SPKI structures Node's crypto takes. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Something that signs: the bot's job key, or a host's key. The private key never leaves the closure. */
export interface Signer {
  /** Key id carried next to every signature: `keyIdOf(publicKey)`. */
  kid: string;
  /** `ed25519:<base64>`. */
  publicKey: string;
  sign: (bytes: Buffer) => Buffer;
  toJSON: () => { kid: string; publicKey: string };
}

/** Accepted public keys by key id. */
export type KeyRing = ReadonlyMap<string, KeyObject>;

function rawPublic(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/** A short, stable id for a public key: the first 16 characters of its SHA-256 in base64url. */
export function keyIdOf(publicKey: string): string {
  return createHash('sha256').update(publicKey).digest('base64url').slice(0, 16);
}

/** Reads `ed25519:<base64>`; says what is wrong otherwise. */
export function parsePublicKey(text: string, where: string): KeyObject {
  const trimmed = text.trim();
  const raw = trimmed.startsWith(PUBLIC_PREFIX) ? Buffer.from(trimmed.slice(PUBLIC_PREFIX.length), 'base64') : undefined;
  if (!raw || raw.length !== 32) {
    throw new UserError(
      `${where} has "${trimmed.slice(0, 60)}", which is not a public key; expected ed25519:<44 base64 characters> as printed by "runnerops keygen"`,
    );
  }
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function formatPublicKey(key: KeyObject): string {
  return `${PUBLIC_PREFIX}${rawPublic(key).toString('base64')}`;
}

/** A key ring from `ed25519:...` strings (comma or newline separated). */
export function parseKeyRing(text: string, where: string): Map<string, KeyObject> {
  const ring = new Map<string, KeyObject>();
  for (const item of text.split(/[\s,]+/).filter(Boolean)) {
    const key = parsePublicKey(item, where);
    ring.set(keyIdOf(formatPublicKey(key)), key);
  }
  return ring;
}

export function ringOf(...publicKeys: string[]): Map<string, KeyObject> {
  return parseKeyRing(publicKeys.join(','), 'key list');
}

function signerFromSeed(seed: Buffer): Signer {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = formatPublicKey(createPublicKey(privateKey));
  const kid = keyIdOf(publicKey);
  return {
    kid,
    publicKey,
    sign: (bytes) => sign(null, bytes, privateKey),
    toJSON: () => ({ kid, publicKey }),
  };
}

/** A new key in memory (tests, `runnerops keygen`). */
export function generateSigner(): Signer {
  const { privateKey } = generateKeyPairSync('ed25519');
  return signerFromSeed(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length));
}

export function verifyBytes(key: KeyObject, bytes: Buffer, signature: Buffer): boolean {
  try {
    return verify(null, bytes, key, signature);
  } catch {
    return false;
  }
}

/**
 * `verifyBytes` on libuv's thread pool: the event loop goes on serving requests meanwhile. For the
 * streams a bot verifies per event (every host's every event), where the loop must stay free for acks.
 */
export function verifyBytesInPool(key: KeyObject, bytes: Buffer, signature: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      verify(null, bytes, key, signature, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

const invalidKey = (file: string) => new UserError(`${file} does not hold an Ed25519 key (32 bytes of base64); create one with "runnerops keygen ${file}"`);

/** Loads a signing key file; a missing, wrong or world-readable file is a one-line error naming it. */
export async function loadSigner(file: string, variable: string): Promise<Signer> {
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${variable}=${file} does not exist; create it with "runnerops keygen ${file}"`);
    throw err;
  }
  if ((info.mode & 0o077) !== 0) throw new UserError(`${file} is readable by others (mode ${(info.mode & 0o777).toString(8)}); run "chmod 600 ${file}"`);
  const seed = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  if (seed.length !== 32) throw invalidKey(file);
  return signerFromSeed(seed);
}

/**
 * Loads the key in `file`, creating it first (mode 0600, exclusive create so two processes starting at
 * once keep one key). Returns whether it was created.
 */
export async function loadOrCreateSigner(file: string): Promise<{ signer: Signer; created: boolean }> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const { bytes, created } = await readOrCreateKeyFile(file, invalidKey);
  return { signer: signerFromSeed(bytes), created };
}
