import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearRecovery, readRecovery, recoveryPath, writeRecovery, type RecoveryRecord } from '../../../src/clients/runner-config/rotation-recovery.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-recovery-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const record: RecoveryRecord = {
  state: 'reset',
  jobId: 'c1',
  runnerId: 9,
  runnerName: 'nix',
  at: '2026-01-01T00:00:00Z',
  token: 'glrt-recovered-token-01',
  obtainedAt: '2026-01-01T00:00:00Z',
  tokenExpiresAt: null,
};

describe('writeRecovery', () => {
  it('saves the record in a 0600 file named after the runner id', async () => {
    await writeRecovery(dir, record);
    expect(recoveryPath(dir, { id: 9, name: 'nix' })).toBe(path.join(dir, 'rotation-9.json'));
    expect((await stat(path.join(dir, 'rotation-9.json'))).mode & 0o777).toBe(0o600);
  });
});

describe('readRecovery', () => {
  it('reads back what was written, and nothing for another runner', async () => {
    await writeRecovery(dir, record);
    expect(await readRecovery(dir, { id: 9, name: 'nix' })).toEqual(record);
    expect(await readRecovery(dir, { id: 10, name: 'nix' })).toBeUndefined();
  });
});

describe('clearRecovery', () => {
  it('removes the file and ignores one that is not there', async () => {
    await writeRecovery(dir, record);
    await clearRecovery(dir, { id: 9, name: 'nix' });
    await clearRecovery(dir, { id: 9, name: 'nix' });
    expect(await readRecovery(dir, { id: 9, name: 'nix' })).toBeUndefined();
  });
});
