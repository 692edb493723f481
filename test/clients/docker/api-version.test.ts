import { describe, expect, it } from 'vitest';
import { isApiAtLeast, readApiVersion } from '../../../src/clients/docker/api-version.js';
import { ensureDockerEngine } from '../../setup/docker-engine.js';

describe('isApiAtLeast', () => {
  it('compares versions part by part, not as text', () => {
    expect(isApiAtLeast('1.41', '1.42')).toBe(false);
    expect(isApiAtLeast('1.42', '1.42')).toBe(true);
    expect(isApiAtLeast('1.100', '1.42')).toBe(true);
    expect(isApiAtLeast('2.0', '1.99')).toBe(true);
  });
});

describe('readApiVersion', () => {
  it('reads a dotted version from the engine', async () => {
    expect(await readApiVersion(await ensureDockerEngine())).toMatch(/^1\.\d+$/);
  });
});
