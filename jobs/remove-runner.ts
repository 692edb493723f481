import type { JobContext } from './job-context.js';
import { parseRunnerConfig, removeEntry, entryMatches } from '../src/clients/runner-config/config-toml.js';
import { readIfExists, updateFileAtomic } from '../src/clients/runner-config/write-file-atomic.js';
import { readAgainOnParseError, type ReadAgainHooks } from '../src/clients/runner-config/read-again.js';
import { slugOf } from '../src/clients/runner-config/token-files.js';
import { publishRunners } from './install-runner.js';
import type { Payload } from '../src/queue/payloads/remove-runner.js';

export { name, payloadSchema, type Payload } from '../src/queue/payloads/remove-runner.js';

export interface Result {
  host: string;
  runnerId: number;
  runner: string;
  /** Files changed (config.toml in config-toml mode); empty when there was nothing to remove or the runner is declared in Nix. */
  written: string[];
  /** config.toml had no entry with this id any more. */
  absent: boolean;
  /** nixos-module / env-template: the runner is declared in the host's NixOS configuration, which must drop it. */
  declaredIn?: 'nixos-module' | 'env-template';
}

/**
 * The host half of `unregister <host> --runner X` (after GitLab deleted the runner; never without an
 * approval in the envelope): removes the runner's `[[runners]]` entry from config.toml, atomically and
 * re-read right before the rename (gitlab-runner reloads it within 3 s). In nixos-module and
 * env-template modes the runner is declared in Nix: a removed file would be written again, or break the
 * configure script, so the host leaves its files and says what to change.
 */
export async function run(
  payload: Payload,
  ctx: Pick<JobContext, 'host' | 'settings' | 'patchHost' | 'log'> & { readHooks?: ReadAgainHooks },
): Promise<Result> {
  const { settings } = ctx;
  const base = { host: ctx.host, runnerId: payload.runnerId, runner: payload.runner };
  if (settings.tokenMode !== 'config-toml') return { ...base, written: [], absent: false, declaredIn: settings.tokenMode };
  const file = settings.runnerConfigPath;
  const present = await readAgainOnParseError(
    async () => (parseRunnerConfig(await readIfExists(file), file).runners ?? []).some((e) => entryMatches(e, { id: payload.runnerId })),
    ctx.readHooks,
  );
  if (!present) return { ...base, written: [], absent: true };
  await updateFileAtomic(file, (current) => removeEntry(current, { id: payload.runnerId }, file));
  await publishRunners(ctx);
  ctx.log.info({ runnerId: payload.runnerId }, 'runner entry removed from config.toml');
  return { ...base, written: [file], absent: false };
}

export function summarize(result: Result): string {
  if (result.declaredIn === 'nixos-module') {
    return `runner #${result.runnerId} is declared in ${result.host}'s NixOS configuration: remove services.runnerops.worker.runners.${slugOf(result.runner)} and switch (until then gitlab-runner's verify --delete drops the dead entry at its next reload)`;
  }
  if (result.declaredIn === 'env-template') {
    return `runner #${result.runnerId} is in ${result.host}'s config.toml template: remove its entry from services.runnerops.worker.configTemplate and switch`;
  }
  return result.absent
    ? `${result.host}'s config.toml had no entry for runner #${result.runnerId} any more`
    : `removed "${result.runner}" (#${result.runnerId}) from ${result.written.join(', ')}`;
}

/** One runner-config writer at a time on a host. */
export const exclusive = 'runner-config';
