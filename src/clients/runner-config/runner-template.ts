import path from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { PermanentJobError } from '../../errors.js';
import { readIfExists } from './write-file-atomic.js';
import { tomlTime, type RunnerEntry, type TokenCredentials } from './config-toml.js';

/** Per-host template for new `[[runners]]` entries, in RUNNEROPS_STATE_DIR (TOML keys of one runner). */
export const RUNNER_TEMPLATE_FILE = 'runner-template.toml';

/**
 * The seed's runner (docker executor + a shared nix-daemon container), used when the host has no
 * template file: job containers mount the daemon's store, db and socket through `volumes_from` and
 * talk to it with NIX_REMOTE=daemon.
 */
export function defaultRunnerTemplate(nixDaemonContainer: string): RunnerEntry {
  return {
    executor: 'docker',
    docker: {
      image: 'local/nix:latest',
      allowed_images: ['local/nix:latest'],
      pull_policy: 'if-not-present',
      allowed_pull_policies: ['if-not-present'],
      volumes_from: [`${nixDaemonContainer}:ro`],
    },
    environment: ['NIX_REMOTE=daemon', 'ENV=/etc/profile.d/nix-daemon.sh', 'BASH_ENV=/etc/profile.d/nix-daemon.sh'],
    pre_build_script: [
      '# TODO for some reason the /tmp seems to be missing',
      'mkdir -p /tmp',
      '# We need to allow modification of nix config for cachix as',
      '# otherwise it is link to the read only file in the store.',
      'cp --remove-destination \\',
      '  $(readlink -f /etc/nix/nix.conf) /etc/nix/nix.conf',
      '',
    ].join('\n'),
  };
}

/** The host's template file if there is one, else the seed's runner. */
export async function readRunnerTemplate(stateDir: string, nixDaemonContainer: string): Promise<RunnerEntry> {
  const file = path.join(stateDir, RUNNER_TEMPLATE_FILE);
  const text = await readIfExists(file);
  if (text === undefined) return defaultRunnerTemplate(nixDaemonContainer);
  try {
    const template = parse(text) as RunnerEntry;
    for (const key of ['name', 'url', 'id', 'token', 'token_obtained_at', 'token_expires_at']) delete template[key];
    return template;
  } catch (err) {
    if (err instanceof TomlError) throw new PermanentJobError(`${file} is not valid TOML (line ${err.line}); fix the runner template`);
    throw err;
  }
}

/** A complete `[[runners]]` entry: identity and token first, then the template's keys. */
export function buildRunnerEntry(template: RunnerEntry, runner: { name: string; url: string; id: number } & TokenCredentials): RunnerEntry {
  return {
    name: runner.name,
    url: runner.url,
    id: runner.id,
    token: runner.token,
    token_obtained_at: tomlTime(runner.obtainedAt),
    token_expires_at: tomlTime(runner.expiresAt),
    ...structuredClone(template),
  };
}
