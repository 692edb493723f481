import type Docker from 'dockerode';
import type { Redis } from 'ioredis';
import type { Gitlab } from '@gitbeaker/rest';
import type { Logger } from '../src/logger.js';
import type { WorkerSettings } from '../src/config.js';
import type { HostKeys } from '../src/secrets/host-keys.js';
import type { HostEntry, HostStatus } from '../src/queue/host-registry.js';
import type { ImageUseReader } from '../src/clients/docker/image-use-log.js';

/** A progress update a job reports while it runs; shown as the host's row on the job card. */
export interface JobProgress {
  /** Short phase name, e.g. "pausing runners", "restarting", "waiting for daemon". */
  phase: string;
  /** Optional one-line detail shown next to the phase. */
  detail?: string;
}

/**
 * Everything a host job may use, handed in by the worker runtime (tests hand in their own).
 * Jobs take only what they need: `run(payload, ctx: Pick<JobContext, 'docker' | 'settings'>, signal)`.
 */
export interface JobContext {
  /** This host's name as registered (RUNNEROPS_HOST). */
  host: string;
  /** Child logger carrying the job id. */
  log: Logger;
  /** Report a phase change; the bot turns it into a job-card update. */
  progress: (update: JobProgress) => Promise<void>;
  /** Docker Engine client on the local socket (DOCKER_HOST). */
  docker: Docker;
  /** Worker settings from the environment (paths, container names, token mode...). */
  settings: WorkerSettings;
  /** Redis (non-blocking connection) for job state that outlives the job, e.g. report history. */
  redis: Redis;
  /** Key prefix for anything the job keeps in Redis (`${prefix}:...`). */
  prefix: string;
  /** This host's X25519 key pair (loadHostKeys in src/secrets/host-keys.ts, passed as extraContext); opens sealed runner tokens. */
  keys?: HostKeys;
  /** When each image was last used by a container (the worker's record of Docker events), for LRU eviction. */
  imageUse?: ImageUseReader;
  /** Merges facts (runners, disk, store, daemon) into this host's registry entry, signed with its key. */
  patchHost: (patch: Partial<HostEntry>) => Promise<void>;
}

/** The module shape every file in jobs/ exports. */
export interface JobModule<P = unknown, R = unknown, C = JobContext> {
  /** Job name as used on the queue. */
  name: string;
  /** Validates the payload before `run` sees it. */
  payloadSchema: { parse: (input: unknown) => P };
  /** Does the work. Throws `JobError` for failures a person must act on. */
  run: (payload: P, ctx: C, signal: AbortSignal) => Promise<R>;
  /** One line (or a few) of plain text describing a result, for Slack and the terminal. */
  summarize: (result: R) => string;
  /**
   * What a finished result tells about the host, merged into its registry entry (runners, disk, store,
   * daemon health) so `hosts` and App Home show it without asking again.
   */
  registryPatch?: (result: R) => Partial<HostEntry>;
  /** A total across hosts for a fan-out's card (e.g. bytes reclaimed on all hosts). */
  summarizeAll?: (results: R[]) => string;
  /** Jobs sharing an exclusive group never run at the same time on one host (e.g. "docker"). */
  exclusive?: string;
}

/** Options for running a host job from a control-plane job. */
export interface RunOnHostOptions {
  /** Give up waiting after this long (the host job itself is not cancelled). @defaultValue 10 minutes */
  timeoutMs?: number;
}

/**
 * What a control-plane job (run by the bot process on the `control` queue) may use: GitLab with the
 * bot's user token, and a way to run a host job and wait for its result.
 */
export interface ControlContext {
  log: Logger;
  progress: (update: JobProgress) => Promise<void>;
  redis: Redis;
  prefix: string;
  /** @gitbeaker/rest client with GITLAB_URL and GITLAB_TOKEN (PRIVATE-TOKEN). */
  gitlab: InstanceType<typeof Gitlab>;
  /** GitLab base URL (for messages and runner entries). */
  gitlabUrl: string;
  /** The host's registry entry if it is enrolled (its keys match the fingerprint a person confirmed). */
  enrolledHost: (name: string) => Promise<HostStatus | undefined>;
  /**
   * Queues host job `job` with `payload` on `host`'s queue as part of the current command and resolves
   * with its result; rejects with the host job's one-line failure.
   */
  runOnHost: (host: string, job: string, payload: unknown, options?: RunOnHostOptions) => Promise<unknown>;
}
