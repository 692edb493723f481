import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHostKeys, type HostKeys } from '../../src/secrets/host-keys.js';
import { openFromHost, sealToHost } from '../../src/secrets/sealed-box.js';
import { UserError } from '../../src/errors.js';

let dir: string;
let keys: HostKeys;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-seal-'));
  keys = await loadHostKeys(path.join(dir, 'state'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sealToHost', () => {
  it('produces base64 that does not contain the secret and differs on every call', async () => {
    const a = await sealToHost('glrt-abcdefghijklmnop', keys.publicKey);
    const b = await sealToHost('glrt-abcdefghijklmnop', keys.publicKey);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(a, 'base64').toString('latin1')).not.toContain('glrt-');
  });

  it('refuses a public key of the wrong length', async () => {
    await expect(sealToHost('x', Buffer.alloc(16).toString('base64'))).rejects.toThrow(UserError);
  });
});

describe('openFromHost', () => {
  it('opens what was sealed to this host', async () => {
    expect(await openFromHost(await sealToHost('glrt-roundtrip-token', keys.publicKey), keys)).toBe('glrt-roundtrip-token');
  });

  it('refuses a box that was tampered with', async () => {
    const sealed = Buffer.from(await sealToHost('glrt-roundtrip-token', keys.publicKey), 'base64');
    sealed[sealed.length - 1] = (sealed.at(-1) ?? 0) ^ 1;
    await expect(openFromHost(sealed.toString('base64'), keys)).rejects.toThrow(/cannot be opened/);
  });
});
