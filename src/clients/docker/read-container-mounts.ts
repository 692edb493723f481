import type Docker from 'dockerode';

/** One mount of a container as the Engine reports it (`GET /containers/{id}/json`, `Mounts`). */
export interface ContainerMount {
  /** `volume`, `bind`, `tmpfs`... */
  type: string;
  /** Volume name (volumes only). */
  name?: string;
  /** Where the mount's files are on the host (a volume's `_data` directory, or the bound path). */
  source: string;
  /** Where the container sees them. */
  destination: string;
  rw: boolean;
}

/** The container's mounts, or undefined when no container has that name (404). */
export async function readContainerMounts(docker: Docker, container: string): Promise<ContainerMount[] | undefined> {
  let info: Awaited<ReturnType<Docker.Container['inspect']>>;
  try {
    info = await docker.getContainer(container).inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
  return (info.Mounts ?? []).map((m) => ({
    type: String(m.Type),
    ...(m.Name ? { name: m.Name } : {}),
    source: m.Source,
    destination: m.Destination,
    rw: m.RW,
  }));
}
