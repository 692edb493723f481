import { statfs } from 'node:fs/promises';
import type { JobContext } from './job-context.js';
import { detectVersions } from '../src/clients/detect-versions.js';
import { parseRunnerConfig, summarizeRunners } from '../src/clients/runner-config/config-toml.js';
import { readIfExists } from '../src/clients/runner-config/write-file-atomic.js';
import { syncTokenFiles } from '../src/clients/runner-config/runner-store.js';
import type { HostEntry, RunnerSummary } from '../src/queue/host-registry.js';
import type { Payload } from '../src/queue/payloads/host-facts.js';
import * as readSystemId from './read-system-id.js';

export { name, payloadSchema, type Payload } from '../src/queue/payloads/host-facts.js';

export interface Result {
  host: string;
  versions: HostEntry['versions'];
  disk: { dockerFreeBytes?: number; nixFreeBytes?: number; dockerRootDir?: string };
  /** Runner entries of config.toml: name, id, url, token expiry. Never tokens. */
  runners: RunnerSummary[];
  /** The runner-manager id GitLab knows this host by; null: gitlab-runner has not made one yet. */
  systemId?: string | null;
  /** Why a fact is missing (config.toml unreadable, Docker down...). */
  notes: string[];
}

async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/**
 * Facts about this host for `/runner hosts`, App Home and the token-expiry watch: docker / nix /
 * gitlab-runner versions, free disk of Docker's data root and of the Nix store, and the runner
 * entries of config.toml with their token expiry. Also refreshes them in the host registry, and in
 * nixos-module mode brings token files up to date with tokens gitlab-runner rotated itself.
 */
export async function run(_payload: Payload, ctx: Pick<JobContext, 'host' | 'docker' | 'settings' | 'patchHost'>): Promise<Result> {
  const notes: string[] = [];
  const versions = await detectVersions(ctx.docker);
  const disk: Result['disk'] = {};
  try {
    const info = (await ctx.docker.info()) as { DockerRootDir?: string };
    if (info.DockerRootDir) {
      disk.dockerRootDir = info.DockerRootDir;
      disk.dockerFreeBytes = await freeBytes(info.DockerRootDir);
    }
  } catch (err) {
    notes.push(`docker disk unknown: ${(err as NodeJS.ErrnoException).code ?? 'Docker did not answer'}`);
  }
  try {
    disk.nixFreeBytes = await freeBytes(ctx.settings.nixStoreDir);
  } catch (err) {
    notes.push(`nix store disk unknown: ${(err as NodeJS.ErrnoException).code ?? 'error'} on ${ctx.settings.nixStoreDir}`);
  }
  let runners: RunnerSummary[] = [];
  try {
    const text = await readIfExists(ctx.settings.runnerConfigPath);
    if (text === undefined) notes.push(`no ${ctx.settings.runnerConfigPath}`);
    runners = summarizeRunners(parseRunnerConfig(text, ctx.settings.runnerConfigPath));
  } catch (err) {
    notes.push(err instanceof Error ? (err.message.split('\n')[0] ?? '') : 'config.toml unreadable');
  }
  try {
    for (const file of await syncTokenFiles(ctx.settings)) notes.push(`${file} had an old token; copied the one gitlab-runner rotated itself from config.toml`);
  } catch (err) {
    notes.push(`token files not checked: ${err instanceof Error ? (err.message.split('\n')[0] ?? '') : 'error'}`);
  }
  const { systemId } = await readSystemId.run({}, ctx);
  await ctx.patchHost({
    versions,
    runners,
    systemId,
    disk: {
      ...(disk.dockerFreeBytes !== undefined ? { dockerFreeBytes: disk.dockerFreeBytes } : {}),
      ...(disk.nixFreeBytes !== undefined ? { nixFreeBytes: disk.nixFreeBytes } : {}),
    },
  });
  return { host: ctx.host, versions, disk, runners, systemId, notes };
}

function gigabytes(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / 1e9).toFixed(1)} GB`;
}

/** "expires in 3 d" / "expired" / "does not expire". */
export function describeExpiry(expiresAt: string | undefined, now = Date.now()): string {
  if (!expiresAt) return 'token does not expire';
  const ms = Date.parse(expiresAt) - now;
  if (ms <= 0) return `token EXPIRED ${expiresAt}`;
  const days = ms / 86_400_000;
  return `token expires ${expiresAt} (in ${days >= 1 ? `${Math.floor(days)} d` : `${Math.max(1, Math.round(ms / 3_600_000))} h`})`;
}

export function summarize(result: Result): string {
  const v = result.versions;
  const lines = [
    `${result.host}: docker ${v.docker ?? '-'}, nix ${v.nix ?? '-'}, gitlab-runner ${v.gitlabRunner ?? '-'}; free: docker ${gigabytes(result.disk.dockerFreeBytes)}, nix store ${gigabytes(result.disk.nixFreeBytes)}`,
    ...(result.runners.length === 0
      ? ['no runners in config.toml']
      : result.runners.map((r) => `runner ${r.name}${r.id !== undefined ? ` (#${r.id})` : ''}: ${describeExpiry(r.tokenExpiresAt)}`)),
    ...result.notes,
  ];
  return lines.join('\n');
}

/** It may rewrite token files: one runner-config writer at a time on a host. */
export const exclusive = 'runner-config';
