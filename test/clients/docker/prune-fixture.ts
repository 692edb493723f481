import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { mapLimit } from '../../../src/clients/docker/map-limit.js';
import { importFilesImage } from '../../setup/docker-images.js';

export interface FixtureOptions {
  /** Busybox image tag on that engine. */
  image: string;
  /** Containers that ran `true` and exited. */
  exitedContainers: number;
  /** How many of those exited containers carry an anonymous volume (freed with them). */
  anonymousVolumes: number;
  /** Untagged imported images, each with a file of `imageBytes` random bytes. */
  danglingImages: number;
  /** @defaultValue 4096 */
  imageBytes?: number;
  /** Labels on every fixture container. */
  labels?: Record<string, string>;
}

export interface Fixture {
  containers: string[];
  volumes: string[];
  images: string[];
}

/** Creates containers, runs them to exit, returns ids (containers in creation order). */
export async function createExitedContainers(
  docker: Docker,
  image: string,
  count: number,
  options: { withVolume?: (i: number) => boolean; labels?: Record<string, string>; name?: (i: number) => string; cmd?: string[] } = {},
): Promise<string[]> {
  return mapLimit(
    Array.from({ length: count }, (_, i) => i),
    8,
    async (i) => {
      const container = await docker.createContainer({
        Image: image,
        Cmd: options.cmd ?? ['/bin/sh', '-c', `echo ${i} > /tmp/out; if [ -d /data ]; then echo volume-${i} > /data/file; fi`],
        ...(options.name ? { name: options.name(i) } : {}),
        Labels: options.labels ?? {},
        ...(options.withVolume?.(i) ? { Volumes: { '/data': {} } } : {}),
        HostConfig: { NetworkMode: 'none' },
      });
      await container.start();
      await container.wait();
      return container.id;
    },
  );
}

/** Imports `count` untagged images, each with its own random content. */
export async function createDanglingImages(docker: Docker, count: number, bytes = 4096): Promise<string[]> {
  return mapLimit(
    Array.from({ length: count }, (_, i) => i),
    4,
    () => importFilesImage(docker, { payload: randomBytes(bytes) }),
  );
}

/** The benchmark's and tests' standard mess: exited containers, some with anonymous volumes, dangling images. */
export async function createPruneFixture(docker: Docker, options: FixtureOptions): Promise<Fixture> {
  const [containers, images] = await Promise.all([
    createExitedContainers(docker, options.image, options.exitedContainers, {
      withVolume: (i) => i < options.anonymousVolumes,
      ...(options.labels ? { labels: options.labels } : {}),
    }),
    createDanglingImages(docker, options.danglingImages, options.imageBytes),
  ]);
  const volumes = (
    await mapLimit(containers.slice(0, options.anonymousVolumes), 8, async (id) => {
      const info = await docker.getContainer(id).inspect();
      return info.Mounts.flatMap((m) => (m.Type === 'volume' && m.Name ? [m.Name] : []));
    })
  ).flat();
  return { containers, volumes, images };
}

/** What the engine holds right now: ids of all containers, images, and volume and network names. */
export async function listEngine(docker: Docker): Promise<{ containers: Set<string>; images: Set<string>; volumes: Set<string>; networks: Set<string> }> {
  const [containers, images, volumes, networks] = await Promise.all([
    docker.listContainers({ all: true }),
    docker.listImages({ all: true }),
    docker.listVolumes(),
    docker.listNetworks(),
  ]);
  return {
    containers: new Set(containers.map((c) => c.Id)),
    images: new Set(images.map((i) => i.Id)),
    volumes: new Set((volumes.Volumes ?? []).map((v) => v.Name)),
    networks: new Set(networks.map((n) => n.Name)),
  };
}
