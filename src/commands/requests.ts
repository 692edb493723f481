import type { HostState } from '../present/host-states.js';

/** The typed result of parsing one command line; shared by Slack and the CLI. */
export type Target = { kind: 'host'; host: string } | { kind: 'all' };

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
      images?: 'dangling' | 'unused';
      buildCache: boolean;
    }
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
  /** Trust a host's keys; `fingerprint`, when given, must be what the host presents now. */
  | { verb: 'enroll'; host: string; fingerprint?: string }
  | { verb: 'jobs'; limit: number }
  | { verb: 'job'; id: string }
  | { verb: 'audit'; limit: number }
  | { verb: 'schedules' };

export type Verb = Request['verb'];
