import type Docker from 'dockerode';
import { readApiVersion } from './api-version.js';
import { dockerStatus } from './docker-error.js';
import { chainIds } from './chain-ids.js';
import { mapLimit } from './map-limit.js';

export interface ContainerFacts {
  id: string;
  name: string;
  /** created | running | paused | restarting | removing | exited | dead */
  state: string;
  /** ms since epoch. */
  createdAt: number;
  labels: Record<string, string>;
  imageId: string;
  /** Names of the volumes it mounts. */
  volumes: string[];
  networkIds: string[];
  /** Bytes of its writable layer; known for exited and dead containers only. */
  sizeRw?: number;
}

export interface ImageFacts {
  id: string;
  parentId: string;
  createdAt: number;
  labels: Record<string, string>;
  /** Tags and digests (`repo:tag`, `repo@sha256:...`), without `<none>` placeholders. */
  refs: string[];
  tags: string[];
  size: number;
  /** Layer chain ids, bottom first. */
  chain: string[];
}

export interface VolumeFacts {
  name: string;
  driver: string;
  createdAt: number;
  labels: Record<string, string>;
  mountpoint: string;
}

export interface NetworkFacts {
  id: string;
  name: string;
  driver: string;
  scope: string;
  createdAt: number;
  labels: Record<string, string>;
}

/** Everything a prune plan is made from, read in one go. */
export interface PruneState {
  apiVersion: string;
  /** When it was read (ms since epoch); `--until` counts back from here. */
  readAt: number;
  containers: ContainerFacts[];
  images: ImageFacts[];
  volumes: VolumeFacts[];
  networks: NetworkFacts[];
}

interface RawContainer {
  Id: string;
  Names?: string[];
  State: string;
  Created: number;
  Labels?: Record<string, string> | null;
  ImageID: string;
  SizeRw?: number;
  Mounts?: Array<{ Type?: string; Name?: string }> | null;
  NetworkSettings?: { Networks?: Record<string, { NetworkID?: string }> | null } | null;
}

interface RawImage {
  Id: string;
  ParentId: string;
  Created: number;
  Labels?: Record<string, string> | null;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Size: number;
}

function get<T>(docker: Docker, path: string, options: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) =>
    docker.modem.dial(
      { path, method: 'GET', options, abortSignal: signal, statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' } },
      (err, data) => (err ? reject(err) : resolve(data as T)),
    ),
  );
}

const realRef = (ref: string): boolean => !ref.startsWith('<none>');
const millis = (rfc3339: string | undefined): number => (rfc3339 ? Date.parse(rfc3339) || 0 : 0);

async function readImages(docker: Docker, signal?: AbortSignal): Promise<ImageFacts[]> {
  const raw = await get<RawImage[]>(docker, '/images/json?', { all: true }, signal);
  return mapLimit(
    raw,
    8,
    async (image): Promise<ImageFacts> => {
      let layers: string[] = [];
      try {
        const inspect = (await docker.getImage(image.Id).inspect()) as { RootFS?: { Layers?: string[] } };
        layers = inspect.RootFS?.Layers ?? [];
      } catch (err) {
        if (dockerStatus(err) !== 404) throw err;
      }
      const tags = (image.RepoTags ?? []).filter(realRef);
      return {
        id: image.Id,
        parentId: image.ParentId ?? '',
        createdAt: image.Created * 1000,
        labels: image.Labels ?? {},
        refs: [...tags, ...(image.RepoDigests ?? []).filter(realRef)],
        tags,
        size: image.Size,
        chain: layers.length > 0 ? chainIds(layers) : [image.Id],
      };
    },
    signal,
  );
}

/**
 * Reads containers (sizes for stopped ones only: computing them for running containers is what makes
 * `docker ps -s` slow), images with their layer chains, volumes and networks, all at once.
 */
export async function readPruneState(docker: Docker, signal?: AbortSignal): Promise<PruneState> {
  const readAt = Date.now();
  const [apiVersion, all, stopped, images, volumes, networks] = await Promise.all([
    readApiVersion(docker),
    get<RawContainer[]>(docker, '/containers/json?', { all: true }, signal),
    get<RawContainer[]>(docker, '/containers/json?', { all: true, size: true, filters: { status: ['exited', 'dead'] } }, signal),
    readImages(docker, signal),
    get<{ Volumes?: Array<{ Name: string; Driver: string; CreatedAt?: string; Labels?: Record<string, string> | null; Mountpoint: string }> | null }>(
      docker,
      '/volumes?',
      {},
      signal,
    ),
    get<Array<{ Id: string; Name: string; Driver: string; Scope: string; Created?: string; Labels?: Record<string, string> | null }>>(
      docker,
      '/networks?',
      {},
      signal,
    ),
  ]);
  const sizes = new Map(stopped.map((c) => [c.Id, c.SizeRw ?? 0]));
  return {
    apiVersion,
    readAt,
    containers: all.map((c) => ({
      id: c.Id,
      name: (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''),
      state: c.State,
      createdAt: c.Created * 1000,
      labels: c.Labels ?? {},
      imageId: c.ImageID,
      volumes: (c.Mounts ?? []).flatMap((m) => (m.Type === 'volume' && m.Name ? [m.Name] : [])),
      networkIds: Object.values(c.NetworkSettings?.Networks ?? {}).flatMap((n) => (n.NetworkID ? [n.NetworkID] : [])),
      ...(sizes.has(c.Id) ? { sizeRw: sizes.get(c.Id) } : {}),
    })),
    images,
    volumes: (volumes.Volumes ?? []).map((v) => ({
      name: v.Name,
      driver: v.Driver,
      createdAt: millis(v.CreatedAt),
      labels: v.Labels ?? {},
      mountpoint: v.Mountpoint,
    })),
    networks: networks.map((n) => ({
      id: n.Id,
      name: n.Name,
      driver: n.Driver,
      scope: n.Scope,
      createdAt: millis(n.Created),
      labels: n.Labels ?? {},
    })),
  };
}
