import type Docker from 'dockerode';
import { isApiAtLeast } from './api-version.js';

export type DiskUsageType = 'container' | 'image' | 'volume' | 'build-cache';

/** The parts of `GET /system/df` we use. */
export interface DiskUsage {
  LayersSize?: number;
  Images?: Array<{ Id: string; Size: number; SharedSize: number; Containers: number; RepoTags: string[] | null }> | null;
  Containers?: Array<{ Id: string; SizeRw?: number; State: string }> | null;
  Volumes?: Array<{ Name: string; UsageData?: { Size: number; RefCount: number } | null }> | null;
  BuildCache?: Array<{
    ID: string;
    Size: number;
    InUse: boolean;
    Shared: boolean;
    Type: string;
    CreatedAt: string;
    LastUsedAt: string | null;
  }> | null;
}

/**
 * `GET /system/df` through the modem (dockerode's `df()` drops its options). On API >= 1.42 only the
 * `types` asked for are computed; older engines compute everything, walking every volume (slow on a big
 * Nix store volume), so ask only when needed.
 */
export async function readDiskUsage(docker: Docker, apiVersion: string, types?: DiskUsageType[], signal?: AbortSignal): Promise<DiskUsage> {
  const options = types && isApiAtLeast(apiVersion, '1.42') ? { type: types } : {};
  return new Promise((resolve, reject) =>
    docker.modem.dial(
      { path: '/system/df?', method: 'GET', options, abortSignal: signal, statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' } },
      (err, data) => (err ? reject(err) : resolve(data as DiskUsage)),
    ),
  );
}
