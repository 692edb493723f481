import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { callPrune, isPruneConflict, retryWhilePruneRuns } from '../../../src/clients/docker/prune-call.js';
import { readDiskUsage } from '../../../src/clients/docker/read-disk-usage.js';
import { mapLimit } from '../../../src/clients/docker/map-limit.js';
import { startPrivateDockerd, type PrivateDockerd } from '../../setup/docker-engine.js';
import { ensureBusyboxImage } from '../../setup/docker-images.js';

// Prunes act on the whole engine: a dockerd of our own.
let engine: PrivateDockerd;
let docker: Docker;
let busybox: string;

const conflict = (): Error => Object.assign(new Error('(HTTP code 409) a prune operation is already running'), { statusCode: 409 });

async function createStopped(count: number, labels: Record<string, string> = {}): Promise<string[]> {
  return mapLimit(
    Array.from({ length: count }),
    8,
    async () => (await docker.createContainer({ Image: busybox, Cmd: ['true'], Labels: labels, HostConfig: { NetworkMode: 'none' } })).id,
  );
}

beforeAll(async () => {
  engine = await startPrivateDockerd();
  docker = engine.docker;
  busybox = await ensureBusyboxImage(engine.host);
});

afterAll(async () => {
  await engine?.stop();
});

describe('retryWhilePruneRuns', () => {
  it('waits out 409 answers and returns the value with the number of conflicts', async () => {
    let calls = 0;
    const result = await retryWhilePruneRuns(async () => (++calls < 3 ? Promise.reject(conflict()) : 'done'), { retryDelayMs: 5 });
    expect(result).toEqual({ value: 'done', conflicts: 2 });
  });

  it('gives up with the 409 once the wait is over, and never retries other errors', async () => {
    await expect(retryWhilePruneRuns(() => Promise.reject(conflict()), { retryDelayMs: 5, maxWaitMs: 30 })).rejects.toSatisfy(isPruneConflict);
    let calls = 0;
    await expect(retryWhilePruneRuns(() => (calls++, Promise.reject(new Error('boom'))), { retryDelayMs: 5 })).rejects.toThrow('boom');
    expect(calls).toBe(1);
  });
});

describe('callPrune', () => {
  it('sends the filters to the engine, which keeps what they exclude', async () => {
    const [kept] = await createStopped(1, { 'runnerops.keep': 'true' });
    const [gone] = await createStopped(1);
    const result = await callPrune(docker, 'containers', { filters: { 'label!': ['runnerops.keep=true'] } });
    expect(result.deleted).toContain(gone);
    const left = (await docker.listContainers({ all: true })).map((c) => c.Id);
    expect(left).toContain(kept);
    expect(left).not.toContain(gone);
    await expect(callPrune(docker, 'containers', { filters: { nonsense: ['x'] } })).rejects.toThrow(/nonsense/);
    await docker.getContainer(kept!).remove();
  });

  it('waits while another prune of the kind runs (409) and then prunes', async () => {
    await createStopped(150);
    // Another client's prune, already running when ours arrives.
    const other = new Promise((resolve, reject) =>
      docker.modem.dial({ path: '/containers/prune?', method: 'POST', options: {}, statusCodes: { 200: true } }, (err, data) =>
        err ? reject(err) : resolve(data),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    const ours = await callPrune(docker, 'containers', { retryDelayMs: 20 });
    await other;
    expect(ours.conflicts).toBeGreaterThanOrEqual(1);
    expect(await docker.listContainers({ all: true })).toEqual([]);
  });

  it('prunes build cache with the options dockerode would drop', async () => {
    const result = await callPrune(docker, 'build', { all: true, filters: { until: ['1h'] } });
    expect(result).toEqual({ deleted: [], spaceReclaimed: 0, conflicts: 0 });
  });
});

describe('readDiskUsage', () => {
  it('reads images and build cache from the engine', async () => {
    const usage = await readDiskUsage(docker, '1.41', ['image', 'build-cache']);
    const ids = (usage.Images ?? []).map((i) => i.Id);
    expect(ids).toContain((await docker.getImage(busybox).inspect()).Id);
    expect(Array.isArray(usage.BuildCache ?? [])).toBe(true);
  });
});
