import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SYSTEM_ID_FILE, generateSystemId, readOrCreateSystemId } from '../../../src/clients/runner-config/system-id.js';

describe('generateSystemId', () => {
  it('derives s_ and 12 hex digits from the machine id, the same every time', () => {
    const id = generateSystemId('3d1219c7c4c5404aaa1f6d2a48adfda4\n');
    expect(id).toMatch(/^s_[0-9a-f]{12}$/);
    expect(generateSystemId('3d1219c7c4c5404aaa1f6d2a48adfda4')).toBe(id);
  });

  it('makes a random r_ id without a machine id', () => {
    expect(generateSystemId(undefined)).toMatch(/^r_[0-9A-Za-z]{12}$/);
    expect(generateSystemId('')).not.toBe(generateSystemId(''));
  });
});

describe('readOrCreateSystemId', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-sysid-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the id gitlab-runner already wrote next to config.toml', async () => {
    await writeFile(path.join(dir, SYSTEM_ID_FILE), 's_0123456789ab\n');
    expect(await readOrCreateSystemId(path.join(dir, 'config.toml'))).toBe('s_0123456789ab');
  });

  it('creates one (0600) when there is none', async () => {
    const machineId = path.join(dir, 'machine-id');
    await writeFile(machineId, 'abc\n');
    const id = await readOrCreateSystemId(path.join(dir, 'config.toml'), machineId);
    expect(id).toBe(generateSystemId('abc'));
    expect((await readFile(path.join(dir, SYSTEM_ID_FILE), 'utf8')).trim()).toBe(id);
    expect((await stat(path.join(dir, SYSTEM_ID_FILE))).mode & 0o777).toBe(0o600);
  });
});
