import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { stringifyRunnerConfig, tomlTime } from '../clients/runner-config/config-toml.js';
import { writeFileAtomic } from '../clients/runner-config/write-file-atomic.js';

/** The name of the demo runner dev mode puts in its temporary config.toml. */
export const DEMO_RUNNER = 'demo';

/**
 * Writes dev mode's own gitlab-runner config.toml (a temporary file under the dev directory, never a
 * real one) with one `[[runners]]` entry for the demo runner, so `rotate <host>` has something to rotate.
 * Written fresh at every start: the stand-in GitLab forgets its tokens when dev mode stops.
 */
export async function writeDemoRunnerConfig(
  file: string,
  runner: { url: string; id: number; token: string; tokenExpiresAt: string },
  now = new Date(),
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const config = {
    concurrent: 1,
    check_interval: 3,
    runners: [
      {
        name: DEMO_RUNNER,
        url: runner.url,
        id: runner.id,
        token: runner.token,
        token_obtained_at: tomlTime(now),
        token_expires_at: tomlTime(runner.tokenExpiresAt),
        executor: 'docker',
        docker: { image: 'alpine:latest', volumes_from: ['gitlabnix:ro'] },
      },
    ],
  };
  await writeFileAtomic(
    file,
    `# Written by "runnerops dev" for its local stand-in GitLab; not a real gitlab-runner configuration.\n${stringifyRunnerConfig(config)}`,
  );
}
