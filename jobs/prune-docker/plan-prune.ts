import type { ContainerFacts, ImageFacts, NetworkFacts, PruneState, VolumeFacts } from '../../src/clients/docker/read-prune-state.js';

/** What to prune and what to keep, decided by the command's flags and the policy. */
export interface PrunePolicy {
  /** Keep anything created less than this many seconds ago; 0 keeps nothing for age. */
  untilSeconds: number;
  /** The same for images alone (an LRU eviction ranks by last use, not age). @defaultValue untilSeconds */
  imageUntilSeconds?: number;
  /** Which images: untagged ones, every unused one, or none. */
  images: 'dangling' | 'unused' | 'none';
  /** Anonymous volumes, plus gitlab-runner cache volumes older than `untilSeconds`. */
  volumes: boolean;
  /** Also named volumes older than `untilSeconds` (implies `volumes`). */
  namedVolumes: boolean;
  /** Also gitlab-runner cache volumes younger than `untilSeconds`. */
  youngCacheVolumes: boolean;
  networks: boolean;
  /** `key=value` or `key`: objects carrying it are never touched. */
  protectLabel: string;
  /** More protect labels (a job's own, on top of the worker's `protectLabel`). */
  alsoProtect?: string[];
  /** Name of the nix-daemon container: it, its image and its volumes are never touched. */
  nixDaemonContainer: string;
}

/** Why an object that looked prunable was kept. */
export type KeepReason = 'nix-daemon' | 'protect-label' | 'young' | 'in-use' | 'young-cache-volume';

export interface PrunePlan {
  containers: ContainerFacts[];
  images: ImageFacts[];
  volumes: VolumeFacts[];
  networks: NetworkFacts[];
  /** Counts of objects kept for each reason (only objects the flags would otherwise prune). */
  kept: Record<KeepReason, number>;
  /** The nix-daemon container found on the engine, if any. */
  nixDaemon?: { id: string; imageId: string; volumes: string[] };
}

const PREDEFINED_NETWORKS = new Set(['bridge', 'host', 'none', 'ingress', 'docker_gwbridge']);
const HEX_ID = /^[0-9a-f]{64}$/;
const CACHE_VOLUME = /^runner-.+-cache-[0-9a-f]{32}$/;

/** `runnerops.keep=true` -> matches labels with that value; `runnerops.keep` -> any value. */
export function hasProtectLabel(labels: Record<string, string>, protectLabel: string): boolean {
  const eq = protectLabel.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, protectLabel);
  return labels[protectLabel.slice(0, eq)] === protectLabel.slice(eq + 1);
}

/** Anonymous: labelled so by the engine (API >= 1.42) or named by it with a random 64-hex id (older engines). */
export function isAnonymousVolume(volume: Pick<VolumeFacts, 'name' | 'labels'>): boolean {
  return Object.hasOwn(volume.labels, 'com.docker.volume.anonymous') || HEX_ID.test(volume.name);
}

/** A gitlab-runner cache volume: `runner-<...>-cache-<md5>` or labelled `com.gitlab.gitlab-runner.type=cache`. */
export function isRunnerCacheVolume(volume: Pick<VolumeFacts, 'name' | 'labels'>): boolean {
  return volume.labels['com.gitlab.gitlab-runner.type'] === 'cache' || CACHE_VOLUME.test(volume.name);
}

export function findNixDaemon(state: PruneState, name: string): ContainerFacts | undefined {
  return state.containers.find((c) => c.name === name || c.id === name);
}

/**
 * Decides what a prune removes, as if the chosen containers were already gone (so their images and
 * volumes count as unused, as `docker system prune` does). Pure: a dry run and the real run that
 * follows get the same plan from the same state.
 */
export function planPrune(state: PruneState, policy: PrunePolicy): PrunePlan {
  const cutoff = state.readAt - policy.untilSeconds * 1000;
  const imageCutoff = state.readAt - (policy.imageUntilSeconds ?? policy.untilSeconds) * 1000;
  const kept: Record<KeepReason, number> = { 'nix-daemon': 0, 'protect-label': 0, young: 0, 'in-use': 0, 'young-cache-volume': 0 };
  const keep = (reason: KeepReason): false => {
    kept[reason]++;
    return false;
  };
  const protectLabels = [policy.protectLabel, ...(policy.alsoProtect ?? [])];
  const protectedBy = (labels: Record<string, string>): boolean => protectLabels.some((label) => hasProtectLabel(labels, label));
  const daemon = findNixDaemon(state, policy.nixDaemonContainer);

  const containers = state.containers.filter((c) => {
    if (c.state !== 'exited' && c.state !== 'dead') return false;
    if (daemon && c.id === daemon.id) return keep('nix-daemon');
    if (protectedBy(c.labels)) return keep('protect-label');
    if (c.createdAt >= cutoff) return keep('young');
    return true;
  });
  const removed = new Set(containers.map((c) => c.id));
  const remaining = state.containers.filter((c) => !removed.has(c.id));

  // Images: a kept image keeps every ancestor (its parent chain) too.
  const byId = new Map(state.images.map((i) => [i.id, i]));
  const usedImages = new Set(remaining.map((c) => c.imageId));
  const keepWithAncestors = new Set<string>();
  const markKept = (id: string): void => {
    for (let cur: string | undefined = id; cur && !keepWithAncestors.has(cur); cur = byId.get(cur)?.parentId) keepWithAncestors.add(cur);
  };
  const childCount = new Map<string, number>();
  for (const image of state.images) if (image.parentId) childCount.set(image.parentId, (childCount.get(image.parentId) ?? 0) + 1);
  const candidates = state.images.filter((image) => {
    // Like `docker images`: intermediate untagged images go with their children, not on their own.
    const top = image.tags.length > 0 || image.refs.length > 0 || !childCount.has(image.id);
    if (!top) return false;
    if (policy.images === 'none' || (policy.images === 'dangling' && image.tags.length > 0)) {
      markKept(image.id);
      return false;
    }
    if (daemon && image.id === daemon.imageId) return (markKept(image.id), keep('nix-daemon'));
    if (usedImages.has(image.id)) return (markKept(image.id), keep('in-use'));
    if (protectedBy(image.labels)) return (markKept(image.id), keep('protect-label'));
    if (image.createdAt >= imageCutoff) return (markKept(image.id), keep('young'));
    return true;
  });
  for (const id of usedImages) markKept(id);
  const images = candidates.filter((image) => !keepWithAncestors.has(image.id) || keep('in-use'));

  const daemonVolumes = new Set(daemon?.volumes ?? []);
  const usedVolumes = new Set(remaining.flatMap((c) => c.volumes));
  const volumes = state.volumes.filter((v) => {
    if (!policy.volumes && !policy.namedVolumes) return false;
    const anonymous = isAnonymousVolume(v);
    const cache = !anonymous && isRunnerCacheVolume(v);
    if (!anonymous && !cache && !policy.namedVolumes) return false;
    if (daemonVolumes.has(v.name)) return keep('nix-daemon');
    if (usedVolumes.has(v.name)) return keep('in-use');
    if (protectedBy(v.labels)) return keep('protect-label');
    if (cache && v.createdAt >= cutoff && !policy.youngCacheVolumes) return keep('young-cache-volume');
    if (!anonymous && !cache && v.createdAt >= cutoff) return keep('young');
    return true;
  });

  const usedNetworks = new Set(remaining.flatMap((c) => c.networkIds));
  const networks = state.networks.filter((n) => {
    if (!policy.networks || PREDEFINED_NETWORKS.has(n.name) || n.scope === 'swarm') return false;
    if (usedNetworks.has(n.id)) return keep('in-use');
    if (protectedBy(n.labels)) return keep('protect-label');
    if (n.createdAt >= cutoff) return keep('young');
    return true;
  });

  return {
    containers,
    images,
    volumes,
    networks,
    kept,
    ...(daemon ? { nixDaemon: { id: daemon.id, imageId: daemon.imageId, volumes: daemon.volumes } } : {}),
  };
}
