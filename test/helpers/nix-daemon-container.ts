import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { execInContainer } from '../../src/clients/docker/exec-in-container.js';
import { ensureNixDaemonImage } from '../setup/docker-images.js';
import { until } from './until.js';

export interface NixDaemonContainer {
  name: string;
  /** Adds a file with `text` to the store through the daemon (unrooted: garbage); returns its path. */
  addGarbage: (text: string) => Promise<string>;
  remove: () => Promise<void>;
}

/** A nix-daemon container like the seed's gitlabnix (Debian's nix-daemon, built locally), answering before this returns. */
export async function startNixDaemonContainer(docker: Docker, name = `runnerops-test-nixd-${randomBytes(4).toString('hex')}`): Promise<NixDaemonContainer> {
  const image = await ensureNixDaemonImage();
  const container = await docker.createContainer({ name, Image: image, HostConfig: { NetworkMode: 'none' } });
  await container.start();
  await until(
    async () => (await execInContainer(docker, name, ['nix-store', '--store', 'daemon', '--gc', '--print-roots'])).exitCode === 0,
    30_000,
    'the nix daemon answering',
  );
  return {
    name,
    addGarbage: async (text) => {
      const file = `/tmp/${randomBytes(6).toString('hex')}`;
      const out = await execInContainer(docker, name, ['/bin/sh', '-c', `printf %s "$1" > ${file} && nix-store --store daemon --add ${file}`, 'sh', text]);
      if (out.exitCode !== 0) throw new Error(`adding to the store failed: ${out.stderr}`);
      return out.stdout.trim();
    },
    remove: () => container.remove({ force: true, v: true }).then(() => undefined),
  };
}
