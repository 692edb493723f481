import * as cleanupStaleRunners from './cleanup-stale-runners.js';
import * as installRunner from './install-runner.js';
import * as gcStore from './gc-store.js';
import * as listRunners from './list-runners.js';
import * as pauseRunners from './pause-runners.js';
import * as hostFacts from './host-facts.js';
import * as ping from './ping.js';
import * as pruneDocker from './prune-docker.js';
import * as readSystemId from './read-system-id.js';
import * as registerRunner from './register-runner.js';
import * as removeRunner from './remove-runner.js';
import * as restartDrained from './restart-drained.js';
import * as restartNixDaemon from './restart-nix-daemon.js';
import * as reviveRunnerToken from './revive-runner-token.js';
import * as rotateToken from './rotate-token.js';
import * as storeUsage from './store-usage.js';
import * as unregisterRunner from './unregister-runner.js';
import type { RetryPolicy } from './retry.js';

/**
 * What bot and worker agree on for each job: its name, the payload schema both sides check, whether
 * it runs on the control queue (the bot, with its GitLab token) or on a host's queue, and the retries
 * the queue gives transient failures. The job files in jobs/ implement them.
 */
export interface JobSpec {
  name: string;
  payloadSchema: { parse: (input: unknown) => unknown };
  control: boolean;
  /** Attempts with exponential backoff for transient failures. @defaultValue DEFAULT_RETRY (3 attempts, from 5 s; see retry.ts) */
  retry?: RetryPolicy;
  /** How long the bot waits for the job before calling the host silent. @defaultValue 10 minutes */
  timeoutMs?: number;
}

const host = (spec: Omit<JobSpec, 'control'>): JobSpec => ({ ...spec, control: false });
const control = (spec: Omit<JobSpec, 'control'>): JobSpec => ({ ...spec, control: true });

export const JOB_SPECS: ReadonlyMap<string, JobSpec> = new Map(
  [
    host(ping),
    host(installRunner),
    host(rotateToken),
    host(hostFacts),
    host(pruneDocker),
    host(restartNixDaemon),
    host(storeUsage),
    host({ ...gcStore, timeoutMs: 2 * 3600_000 }),
    host(readSystemId),
    host(removeRunner),
    control(registerRunner),
    control(restartDrained),
    control(reviveRunnerToken),
    control(listRunners),
    control(pauseRunners),
    control(unregisterRunner),
    control(cleanupStaleRunners),
  ].map((spec) => [spec.name, spec]),
);

export function findJobSpec(name: string, kind: 'host' | 'control'): JobSpec | undefined {
  const spec = JOB_SPECS.get(name);
  return spec && spec.control === (kind === 'control') ? spec : undefined;
}
