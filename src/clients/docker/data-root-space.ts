import { statfs } from 'node:fs/promises';
import type Docker from 'dockerode';

export interface DataRootSpace {
  /** Docker's data root as the engine reports it (`DockerRootDir`). */
  dataRoot: string;
  freeBytes: number;
  totalBytes: number;
}

/** The engine's data root, from `GET /info`. */
export async function readDataRoot(docker: Docker): Promise<string> {
  const info = (await docker.info()) as { DockerRootDir?: string };
  return info.DockerRootDir ?? '/var/lib/docker';
}

/**
 * Free and total bytes of the filesystem holding `dataRoot` (for an unprivileged user: what `df` calls
 * available); undefined when this process cannot see that path (e.g. a worker in a container).
 */
export async function readDataRootSpace(dataRoot: string): Promise<DataRootSpace | undefined> {
  try {
    const s = await statfs(dataRoot);
    return { dataRoot, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch {
    return undefined;
  }
}
