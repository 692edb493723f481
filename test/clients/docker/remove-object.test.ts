import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { removeContainer, removeImage, removeNetwork, removeVolume, repositoryOf } from '../../../src/clients/docker/remove-object.js';
import { ensureDockerEngine } from '../../setup/docker-engine.js';
import { ensureBusyboxImage, importFilesImage } from '../../setup/docker-images.js';

// The main engine: every object here is created by this file under a unique name and removed by it.
let docker: Docker;
let busybox: string;
const tag = randomBytes(4).toString('hex');
const cleanup: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  docker = await ensureDockerEngine();
  busybox = await ensureBusyboxImage();
});

afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
});

async function container(cmd: string[], start: boolean, options: Partial<Docker.ContainerCreateOptions> = {}): Promise<Docker.Container> {
  const c = await docker.createContainer({ Image: busybox, Cmd: cmd, HostConfig: { NetworkMode: 'none' }, ...options });
  cleanup.push(() => c.remove({ force: true, v: true }));
  if (start) await c.start();
  return c;
}

describe('removeContainer', () => {
  it('removes a stopped container and says gone for one that no longer exists', async () => {
    const c = await container(['true'], false);
    expect(await removeContainer(docker, c.id)).toBe('removed');
    expect(await removeContainer(docker, c.id)).toBe('gone');
  });

  it('leaves a running container alone', async () => {
    const c = await container(['sleep', '600'], true);
    expect(await removeContainer(docker, c.id)).toBe('in-use');
    expect((await c.inspect()).State.Running).toBe(true);
  });
});

describe('removeImage', () => {
  it('removes an image tagged in two repositories without force', async () => {
    const id = await importFilesImage(docker, { f: randomBytes(32) }, { tag: `runnerops-test/a-${tag}:1` });
    await docker.getImage(id).tag({ repo: `runnerops-test/b-${tag}`, tag: '2' });
    cleanup.push(() => docker.getImage(id).remove({ force: true }));
    expect(await removeImage(docker, { id, refs: [`runnerops-test/a-${tag}:1`, `runnerops-test/b-${tag}:2`] })).toBe('removed');
    await expect(docker.getImage(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('leaves an image a container uses', async () => {
    const id = await importFilesImage(docker, { f: randomBytes(32) });
    cleanup.push(() => docker.getImage(id).remove({ force: true }));
    const user = await docker.createContainer({ Image: id, Cmd: ['x'], HostConfig: { NetworkMode: 'none' } });
    cleanup.push(() => user.remove({ force: true }));
    expect(await removeImage(docker, { id, refs: [] })).toBe('in-use');
    expect((await docker.getImage(id).inspect()).Id).toBe(id);
  });
});

describe('removeVolume', () => {
  it('removes an unused volume and leaves one a container mounts', async () => {
    const free = await docker.createVolume({ Name: `runnerops-test-free-${tag}` });
    expect(await removeVolume(docker, free.name)).toBe('removed');
    expect(await removeVolume(docker, free.name)).toBe('gone');
    const busy = await docker.createVolume({ Name: `runnerops-test-busy-${tag}` });
    cleanup.push(() => docker.getVolume(busy.name).remove());
    await container(['true'], false, { HostConfig: { NetworkMode: 'none', Binds: [`${busy.name}:/data`] } });
    expect(await removeVolume(docker, busy.name)).toBe('in-use');
  });
});

describe('removeNetwork', () => {
  it('removes a network without endpoints', async () => {
    const net = await docker.createNetwork({ Name: `runnerops-test-net-${tag}`, Internal: true });
    cleanup.push(() => net.remove());
    expect(await removeNetwork(docker, net.id)).toBe('removed');
    expect(await removeNetwork(docker, net.id)).toBe('gone');
  });
});

describe('repositoryOf', () => {
  it('strips tags and digests but not registry ports', () => {
    expect(repositoryOf('alpine:3.20')).toBe('alpine');
    expect(repositoryOf('registry:5000/app/x:1')).toBe('registry:5000/app/x');
    expect(repositoryOf('registry:5000/app/x')).toBe('registry:5000/app/x');
    expect(repositoryOf('alpine@sha256:' + 'a'.repeat(64))).toBe('alpine');
  });
});
