import type Docker from 'dockerode';
import { dockerStatus } from './docker-error.js';

/** What the engine can prune in one call. */
export type PruneKind = 'containers' | 'images' | 'volumes' | 'networks' | 'build';

/** Engine prune filters, e.g. `{ until: ['24h'], 'label!': ['runnerops.keep=true'] }`. */
export type PruneFilters = Record<string, string[]>;

export interface PruneCallOptions {
  filters?: PruneFilters;
  /** `/build/prune` only: prune all cache, not just dangling records. @defaultValue false */
  all?: boolean;
  /** How long to keep retrying while another prune runs (HTTP 409). @defaultValue 600000 (10 min) */
  maxWaitMs?: number;
  /** First pause between 409 retries; doubles up to 5 s. @defaultValue 250 */
  retryDelayMs?: number;
  signal?: AbortSignal;
}

export interface PruneCallResult {
  /** Ids (or names, for volumes and networks) the engine reports as removed. */
  deleted: string[];
  spaceReclaimed: number;
  /** How many 409 answers we waited out. */
  conflicts: number;
}

interface RawPruneReply {
  ContainersDeleted?: string[] | null;
  ImagesDeleted?: Array<{ Deleted?: string; Untagged?: string }> | null;
  VolumesDeleted?: string[] | null;
  NetworksDeleted?: string[] | null;
  CachesDeleted?: string[] | null;
  SpaceReclaimed?: number;
}

const PATHS: Record<PruneKind, string> = {
  containers: '/containers/prune?',
  images: '/images/prune?',
  volumes: '/volumes/prune?',
  networks: '/networks/prune?',
  build: '/build/prune?',
};

/** True for the engine's "a prune operation is already running" answer. */
export function isPruneConflict(err: unknown): boolean {
  return dockerStatus(err) === 409;
}

/**
 * Waits out HTTP 409 from `call` (only one prune of a kind runs at a time) with growing pauses, up to
 * `maxWaitMs`; any other error, or the last 409, is thrown.
 */
export async function retryWhilePruneRuns<T>(
  call: () => Promise<T>,
  options: Pick<PruneCallOptions, 'maxWaitMs' | 'retryDelayMs' | 'signal'> = {},
): Promise<{ value: T; conflicts: number }> {
  const deadline = Date.now() + (options.maxWaitMs ?? 600_000);
  let delay = options.retryDelayMs ?? 250;
  for (let conflicts = 0; ; conflicts++) {
    options.signal?.throwIfAborted();
    try {
      return { value: await call(), conflicts };
    } catch (err) {
      if (!isPruneConflict(err) || Date.now() + delay > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

/**
 * One engine prune call through `docker.modem` (dockerode's `pruneBuilder()` drops its options, and
 * the others type them loosely), retried while another prune of the kind runs.
 */
export async function callPrune(docker: Docker, kind: PruneKind, options: PruneCallOptions = {}): Promise<PruneCallResult> {
  const query: Record<string, unknown> = {};
  if (options.filters && Object.keys(options.filters).length > 0) query.filters = JSON.stringify(options.filters);
  if (kind === 'build' && options.all) query.all = true;
  const dial = (): Promise<RawPruneReply> =>
    new Promise((resolve, reject) =>
      docker.modem.dial(
        {
          path: PATHS[kind],
          method: 'POST',
          options: query,
          abortSignal: options.signal,
          statusCodes: { 200: true, 400: 'bad parameter', 409: 'a prune operation is already running', 500: 'server error' },
        },
        (err, data) => (err ? reject(err) : resolve((data ?? {}) as RawPruneReply)),
      ),
    );
  const { value, conflicts } = await retryWhilePruneRuns(dial, options);
  const deleted =
    value.ContainersDeleted ??
    value.VolumesDeleted ??
    value.NetworksDeleted ??
    value.CachesDeleted ??
    (value.ImagesDeleted ?? []).flatMap((d) => (d.Deleted ? [d.Deleted] : []));
  return { deleted: deleted ?? [], spaceReclaimed: value.SpaceReclaimed ?? 0, conflicts };
}
