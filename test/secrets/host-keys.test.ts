import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HOST_KEY_FILE, HOST_SIGNING_KEY_FILE, fingerprintOf, loadHostKeys } from '../../src/secrets/host-keys.js';
import { sealToHost } from '../../src/secrets/sealed-box.js';
import { PermanentJobError } from '../../src/errors.js';

const dirs: string[] = [];
async function stateDir(): Promise<string> {
  const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'runnerops-keys-')), 'state');
  dirs.push(path.dirname(dir));
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('loadHostKeys', () => {
  it('creates a key pair on first start with a 0600 key file in a 0700 state dir', async () => {
    const dir = await stateDir();
    const keys = await loadHostKeys(dir);
    expect(Buffer.from(keys.publicKey, 'base64')).toHaveLength(32);
    expect((await stat(path.join(dir, HOST_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(keys.fingerprint).toBe(fingerprintOf(keys.publicKey));
  });

  it('loads the same key on the next start', async () => {
    const dir = await stateDir();
    const first = await loadHostKeys(dir);
    const second = await loadHostKeys(dir);
    expect(second.publicKey).toBe(first.publicKey);
    expect(await second.openSealed(await sealToHost('glrt-sealed-secret', first.publicKey))).toBe('glrt-sealed-secret');
  });

  it('keeps one key when two processes start at once', async () => {
    const dir = await stateDir();
    const [a, b] = await Promise.all([loadHostKeys(dir), loadHostKeys(dir)]);
    expect(a.publicKey).toBe(b.publicKey);
  });

  it('tightens a key file that others may read back to 0600', async () => {
    const dir = await stateDir();
    await loadHostKeys(dir);
    await chmod(path.join(dir, HOST_KEY_FILE), 0o644);
    await loadHostKeys(dir);
    expect((await stat(path.join(dir, HOST_KEY_FILE))).mode & 0o777).toBe(0o600);
  });

  it('shows only the public key when serialized', async () => {
    const dir = await stateDir();
    const keys = await loadHostKeys(dir);
    const secret = (await readFile(path.join(dir, HOST_KEY_FILE), 'utf8')).trim();
    const signingSecret = (await readFile(path.join(dir, HOST_SIGNING_KEY_FILE), 'utf8')).trim();
    expect(JSON.stringify({ keys })).not.toContain(secret);
    expect(JSON.stringify({ keys })).not.toContain(signingSecret);
    expect(JSON.parse(JSON.stringify(keys))).toEqual({
      publicKey: keys.publicKey,
      signPublicKey: keys.signer.publicKey,
      hostFingerprint: keys.hostFingerprint,
    });
  });

  it('refuses a damaged key file with a message that says what to do', async () => {
    const dir = await stateDir();
    await loadHostKeys(dir);
    await writeFile(path.join(dir, HOST_KEY_FILE), 'c2hvcnQ=\n');
    await expect(loadHostKeys(dir)).rejects.toThrow(/does not hold a 32-byte key; move it away and restart the worker/);
  });

  it('cannot open a box sealed to another host and says so without the content', async () => {
    const mine = await loadHostKeys(await stateDir());
    const theirs = await loadHostKeys(await stateDir());
    const sealed = await sealToHost('glrt-for-the-other-host', theirs.publicKey);
    const err = await mine.openSealed(sealed).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(PermanentJobError);
    expect(err!.message).toContain(`cannot be opened with this host's key (${mine.fingerprint})`);
    expect(err!.message).not.toContain('glrt-for-the-other-host');
  });
});
