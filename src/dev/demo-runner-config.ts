import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The name of the demo runner dev mode puts in its temporary config.toml. */
export const DEMO_RUNNER = 'demo';

/**
 * Writes dev mode's own gitlab-runner config.toml (a temporary file under the dev directory, never a
 * real one) with one `[[runners]]` entry for the demo runner, so `rotate <host>` has something to rotate.
 * Written fresh at every start: the stand-in GitLab forgets its tokens when dev mode stops.
 */
export async function writeDemoRunnerConfig(file: string, runner: { url: string; id: number; token: string; tokenExpiresAt: string }, now = new Date()): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const text = [
    '# Written by `runnerops dev` for the local stand-in GitLab; not a real gitlab-runner configuration.',
    'concurrent = 1',
    'check_interval = 3',
    '',
    '[[runners]]',
    `  name = "${DEMO_RUNNER}"`,
    `  url = "${runner.url}"`,
    `  id = ${runner.id}`,
    `  token = "${runner.token}"`,
    `  token_obtained_at = ${now.toISOString()}`,
    `  token_expires_at = ${runner.tokenExpiresAt}`,
    '  executor = "docker"',
    '  [runners.docker]',
    '    image = "alpine:latest"',
    '    volumes_from = ["gitlabnix:ro"]',
    '',
  ].join('\n');
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text, { mode: 0o600 });
  await rename(temp, file);
}
