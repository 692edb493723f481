/**
 * DEMO NIX-DAEMON CONTAINER, started only by `runnerops dev` when NIX_DAEMON_CONTAINER is not set, so
 * `restart-daemon <host>` has a daemon to restart on a first try. It runs Debian's real nix-daemon in an
 * image built locally by the test setup (test/setup/docker-images.ts: `docker import` of nix-bin and
 * busybox-static files, no registry), under its own name, never `gitlabnix`: a real one is left alone.
 */
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import { ensureNixDaemonImage } from '../../test/setup/docker-images.js';

/** The demo daemon's name for one dev directory, so two dev stacks on one Docker never share it. */
export function demoDaemonName(devDir: string): string {
  return `runnerops-dev-nix-daemon-${createHash('sha256').update(devDir).digest('hex').slice(0, 8)}`;
}

export interface DemoNixDaemon {
  name: string;
  stop: () => Promise<void>;
}

/** Starts (or reuses) the demo daemon container; removed again by `stop`. */
export async function startDemoNixDaemon(docker: Docker, dockerHost: string | undefined, name: string): Promise<DemoNixDaemon> {
  const image = await ensureNixDaemonImage(dockerHost);
  const existing = docker.getContainer(name);
  const found = await existing.inspect().catch(() => undefined);
  if (found && found.Config.Image !== image) {
    await existing.remove({ force: true });
  }
  const container =
    found && found.Config.Image === image ? existing : await docker.createContainer({ name, Image: image, Labels: { 'runnerops.dev': 'demo nix-daemon' } });
  const state = await container.inspect();
  if (!state.State.Running) await container.start();
  return { name, stop: async () => void (await container.remove({ force: true }).catch(() => undefined)) };
}
