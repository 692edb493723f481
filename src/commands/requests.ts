import type { FreeTarget } from './size.js';
import type { HostState } from './host-states.js';

/** The typed result of parsing one command line; shared by Slack and the CLI. */
export type Target = { kind: 'host'; host: string } | { kind: 'all' };

/** `<host|runner>`: a host's runners, or one runner by its GitLab id (`123` or `#123`). */
export type RunnerTarget = { kind: 'host'; host: string } | { kind: 'runner'; id: number };

/** Which hosts `hosts` lists: every one, those that need attention, those in one state, or names starting with a prefix. */
export type HostFilter = { kind: 'all' } | { kind: 'attention' } | { kind: 'state'; state: HostState } | { kind: 'prefix'; prefix: string };

export type Request =
  | { verb: 'help'; topic?: string }
  /** No filter: the fleet view (every host of a small fleet; counts and the hosts that need attention of a larger one). */
  | { verb: 'hosts'; filter?: HostFilter; page?: number }
  | { verb: 'ping'; target: Target }
  | { verb: 'store'; target: Target; top: number }
  | {
      verb: 'prune';
      target: Target;
      dryRun: boolean;
      /** Seconds; undefined means the policy's default. */
      untilSeconds?: number;
      volumes: boolean;
      images?: 'dangling' | 'unused' | 'lru';
      /** With `images: 'lru'`: evict least recently used images until this much of the disk is free. */
      targetFree?: FreeTarget;
      buildCache: boolean;
    }
  /** Nix garbage collection of the store the runners use; `maxFreedBytes` stops after about that many NAR bytes. */
  | { verb: 'gc'; target: Target; dryRun: boolean; maxFreedBytes?: number }
  | { verb: 'restart-daemon'; host: string; drain: boolean; timeoutSeconds: number }
  | {
      verb: 'register';
      host: string;
      type: 'instance' | 'group' | 'project';
      groupId?: number;
      projectId?: number;
      description?: string;
      tags: string[];
      untagged: boolean;
      paused: boolean;
    }
  | { verb: 'rotate'; host: string; runner?: string }
  /** GitLab's runners joined with the hosts' config.toml entries; `all`: the fleet. */
  | { verb: 'runners'; target: Target }
  /** Pause or resume every runner of a host, or one runner by GitLab id; the reason goes into the maintenance note. */
  | { verb: 'pause' | 'resume'; target: RunnerTarget; reason?: string }
  /** Delete a host's runner in GitLab and remove it from the host (after an approval). */
  | { verb: 'unregister'; host: string; runner: string; dryRun: boolean }
  /** Delete runners without contact for `olderThanSeconds` (after an approval that freezes the list). */
  | { verb: 'cleanup-stale'; olderThanSeconds: number; dryRun: boolean }
  /** Trust a host's keys; `fingerprint`, when given, must be what the host presents now. */
  | { verb: 'enroll'; host: string; fingerprint?: string }
  | { verb: 'jobs'; limit: number }
  | { verb: 'job'; id: string }
  | { verb: 'audit'; limit: number }
  | { verb: 'schedules' };

export type Verb = Request['verb'];

/** The request of one verb (`pause` and `resume` share theirs). */
export type RequestOf<V extends Verb> = Request extends infer R ? (R extends { verb: infer W } ? (V extends W ? R : never) : never) : never;
