import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { VERSION } from '../version.js';
import type { HostEntry } from '../queue/host-registry.js';

const run = promisify(execFile);

async function commandVersion(command: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await run(command, args, { timeout: 3000 });
    return /(\d+\.\d+(?:\.\d+)?)/.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

/** Versions published in the host registry; anything not installed is simply left out. */
export async function detectVersions(docker: Pick<Docker, 'version'>): Promise<HostEntry['versions']> {
  const [dockerVersion, nix, gitlabRunner] = await Promise.all([
    docker.version().then(
      (v) => v.Version,
      () => undefined,
    ),
    commandVersion('nix', ['--version']),
    commandVersion('gitlab-runner', ['--version']),
  ]);
  return {
    runnerops: VERSION,
    ...(dockerVersion ? { docker: dockerVersion } : {}),
    ...(nix ? { nix } : {}),
    ...(gitlabRunner ? { gitlabRunner } : {}),
  };
}
