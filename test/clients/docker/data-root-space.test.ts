import { describe, expect, it } from 'vitest';
import { readDataRoot, readDataRootSpace } from '../../../src/clients/docker/data-root-space.js';
import { ensureDockerEngine } from '../../setup/docker-engine.js';

describe('readDataRoot', () => {
  it('reads the data root the engine reports', async () => {
    expect(await readDataRoot(await ensureDockerEngine())).toMatch(/^\//);
  });
});

describe('readDataRootSpace', () => {
  it('reports free bytes no larger than the filesystem, and nothing for a path it cannot see', async () => {
    const space = await readDataRootSpace(await readDataRoot(await ensureDockerEngine()));
    expect(space!.freeBytes).toBeGreaterThan(0);
    expect(space!.freeBytes).toBeLessThanOrEqual(space!.totalBytes);
    expect(await readDataRootSpace('/nonexistent/docker')).toBeUndefined();
  });
});
