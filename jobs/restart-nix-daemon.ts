import type { HostEntry } from '../src/queue/host-registry.js';
import type Docker from 'dockerode';
import type { JobContext } from './job-context.js';
import { PermanentJobError, firstLine } from '../src/errors.js';
import { formatMs } from '../src/present/format.js';
import { dockerStatus, toJobError } from '../src/clients/docker/docker-error.js';
import { execInContainer } from '../src/clients/docker/exec-in-container.js';
import { readLastLogLines } from '../src/clients/docker/read-container-logs.js';
import type { Payload } from '../src/queue/payloads/restart-nix-daemon.js';

export { name, payloadSchema, type Payload } from '../src/queue/payloads/restart-nix-daemon.js';

export interface Result {
  host: string;
  container: string;
  /** Nix version inside the container, e.g. "2.8.0" (undefined if `nix --version` failed). */
  nixVersion?: string;
  /** The health check that answered, e.g. `nix store ping --store daemon`. */
  healthCheck: string;
  /** Milliseconds the engine took to restart the container. */
  restartMs: number;
  /** Milliseconds from the restart request until the daemon answered. */
  healthyMs: number;
  /** Health checks run until one passed. */
  checks: number;
}

type Ctx = Pick<JobContext, 'host' | 'docker' | 'settings' | 'progress' | 'log'>;

/** Waits between health checks: short at first (the daemon is usually up within tens of ms of its start), then at most 200 ms. */
const CHECK_INTERVALS_MS = [20, 40, 80, 160, 200];
const CHECK_TIMEOUT_MS = 10_000;

/**
 * The command that proves the daemon answers: `nix store info` on Nix >= 2.19, `nix store ping` before
 * (Debian's nix-bin 2.8 has no `store info`). Both connect to the socket and fail when the handshake does.
 */
export function healthCommand(nixVersion: string | undefined): string[] {
  const m = /(\d+)\.(\d+)/.exec(nixVersion ?? '');
  const modern = m !== null && (Number(m[1]) > 2 || (Number(m[1]) === 2 && Number(m[2]) >= 19));
  return ['nix', '--extra-experimental-features', 'nix-command', 'store', modern ? 'info' : 'ping', '--store', 'daemon', ...(modern ? ['--json'] : [])];
}

async function readNixVersion(docker: Docker, container: string): Promise<string | undefined> {
  try {
    const r = await execInContainer(docker, container, ['nix', '--version'], { timeoutMs: CHECK_TIMEOUT_MS });
    return r.exitCode === 0 ? /(\d+\.\d+(?:\.\d+)?)/.exec(r.stdout)?.[1] : undefined;
  } catch {
    return undefined;
  }
}

async function lastLogs(docker: Docker, container: string): Promise<string> {
  const lines = await readLastLogLines(docker, container, 3).catch(() => []);
  return lines.length === 0 ? 'no log output' : `last log lines: ${lines.map((l) => firstLine(l).slice(0, 120)).join(' | ')}`;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Restarts the nix-daemon container (NIX_DAEMON_CONTAINER) and waits until the daemon inside answers a
 * real request through the exec API, up to `timeoutSeconds`; reports the time to healthy.
 */
export async function run(payload: Payload, ctx: Ctx, signal: AbortSignal = new AbortController().signal): Promise<Result> {
  const { docker } = ctx;
  const containerName = ctx.settings.nixDaemonContainer;
  const doing = `restarting container "${containerName}"`;
  try {
    const container = docker.getContainer(containerName);
    let before: Docker.ContainerInspectInfo;
    try {
      before = await container.inspect();
    } catch (err) {
      if (dockerStatus(err) === 404) {
        throw new PermanentJobError(
          `no container "${containerName}" on ${ctx.host}; check NIX_DAEMON_CONTAINER and "docker ps -a --filter name=${containerName}"`,
        );
      }
      throw err;
    }
    // The Nix version (which health check to run) does not change with a restart: ask while the
    // daemon still runs, so the time to healthy holds one exec, not two.
    let nixVersion = before.State.Running ? await readNixVersion(docker, containerName) : undefined;

    await ctx.progress({ phase: 'restarting', detail: containerName });
    const started = performance.now();
    await container.restart({ t: payload.stopTimeoutSeconds });
    const restartMs = Math.round(performance.now() - started);

    await ctx.progress({ phase: 'waiting for daemon', detail: `up to ${payload.timeoutSeconds}s` });
    const deadline = started + payload.timeoutSeconds * 1000;
    let lastFailure = '';
    // A restart returns once the container runs: check the daemon first, and look at the container
    // only when the daemon does not answer yet.
    let running = true;
    for (let checks = 1; ; checks++) {
      signal.throwIfAborted();
      if (running) {
        nixVersion ??= await readNixVersion(docker, containerName);
        const command = healthCommand(nixVersion);
        const remaining = Math.max(1, deadline - performance.now());
        const check = await execInContainer(docker, containerName, command, { timeoutMs: Math.min(CHECK_TIMEOUT_MS, remaining), signal }).catch(
          (err: unknown) => {
            // The container can stop between inspect and exec (409): the next round looks again.
            if (dockerStatus(err) === 409 || dockerStatus(err) === 404) return undefined;
            throw err;
          },
        );
        if (check?.exitCode === 0) {
          const healthyMs = Math.round(performance.now() - started);
          await ctx.progress({ phase: 'healthy', detail: `after ${formatMs(healthyMs)}` });
          return {
            host: ctx.host,
            container: containerName,
            ...(nixVersion ? { nixVersion } : {}),
            healthCheck: command.filter((a) => !a.startsWith('--extra') && a !== 'nix-command').join(' '),
            restartMs,
            healthyMs,
            checks,
          };
        }
        if (check) lastFailure = check.timedOut ? 'the check timed out' : firstLine(check.stderr.trim() || `exit code ${check.exitCode}`);
      }
      const state = (await container.inspect()).State;
      if (!state.Running && !state.Restarting) {
        throw new PermanentJobError(
          `container "${containerName}" stopped again after the restart (exit code ${state.ExitCode}); ${await lastLogs(docker, containerName)}`,
        );
      }
      running = state.Running;
      const wait = CHECK_INTERVALS_MS[Math.min(checks - 1, CHECK_INTERVALS_MS.length - 1)] ?? 200;
      if (performance.now() + wait > deadline) {
        throw new PermanentJobError(
          `nix-daemon in "${containerName}" did not answer within ${payload.timeoutSeconds}s after the restart` +
            `${lastFailure ? ` (${lastFailure.slice(0, 160)})` : ''}; ${await lastLogs(docker, containerName)}`,
        );
      }
      await sleep(wait, signal);
    }
  } catch (err) {
    if (signal.aborted) throw err;
    throw toJobError(err, doing, ctx.settings.dockerHost);
  }
}

export function summarize(result: Result): string {
  return `restarted ${result.container}: daemon answered after ${formatMs(result.healthyMs)} (restart ${formatMs(result.restartMs)}${result.nixVersion ? `, Nix ${result.nixVersion}` : ''})`;
}

/** A restart that reached "healthy" is the freshest word on the daemon: the registry shows it. */
export function registryPatch(result: Result): Partial<HostEntry> {
  return { daemon: { healthy: true, at: Date.now(), detail: `answered ${result.healthCheck} ${result.healthyMs} ms after restart` } };
}
