import type { Verb } from './requests.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** Shown in usage: `--top N`. */
  value?: string;
}

export interface VerbSpec {
  verb: Verb;
  /** Positional words, e.g. `<host|all>`; `[x]` marks an optional one. */
  args: string[];
  flags: Record<string, FlagSpec>;
  description: string;
  example: string;
  /** Changes something on a host or in GitLab: needs a policy grant to run. */
  mutating: boolean;
}

/** The grammar of `/runner ...` and `runnerops ...`, one entry per verb, in help order. */
export const VERBS: VerbSpec[] = [
  { verb: 'help', args: ['[verb]'], flags: {}, description: 'list the verbs, or explain one', example: 'help prune', mutating: false },
  {
    verb: 'hosts',
    args: ['[all|STATE|PREFIX]'],
    flags: { page: { type: 'string', value: 'N' } },
    description: 'registered hosts and runners; a large fleet gets counts by state, then the hosts that need attention',
    example: 'hosts silent --page 2',
    mutating: false,
  },
  { verb: 'ping', args: ['<host|all>'], flags: {}, description: 'round trip to a host worker and back', example: 'ping all', mutating: false },
  {
    verb: 'store',
    args: ['<host|all>'],
    flags: { top: { type: 'string', value: 'N' } },
    description: 'Nix store size, garbage a GC would free, largest paths and the trend',
    example: 'store ci-1 --top 5',
    mutating: false,
  },
  {
    verb: 'prune',
    args: ['<host|all>'],
    flags: {
      'dry-run': { type: 'boolean' },
      until: { type: 'string', value: 'DURATION' },
      volumes: { type: 'boolean' },
      images: { type: 'string', value: 'dangling|unused|lru' },
      'target-free': { type: 'string', value: 'PERCENT|SIZE' },
      'build-cache': { type: 'boolean' },
    },
    description: 'remove exited containers, unused images (--images lru: least recently used first, until --target-free), volumes and build cache (never the nix-daemon)',
    example: 'prune ci-3 --until 24h --dry-run',
    mutating: true,
  },
  {
    verb: 'gc',
    args: ['<host|all>'],
    flags: { 'max-freed': { type: 'string', value: 'SIZE' }, 'dry-run': { type: 'boolean' } },
    description: "collect Nix garbage in the runners' store through its daemon (running builds keep their paths)",
    example: 'gc ci-1 --max-freed 20G --dry-run',
    mutating: true,
  },
  {
    verb: 'restart-daemon',
    args: ['<host>'],
    flags: { drain: { type: 'boolean' }, timeout: { type: 'string', value: 'DURATION' } },
    description: 'restart the nix-daemon container and wait until it answers (--drain pauses runners first)',
    example: 'restart-daemon ci-2 --drain --timeout 30m',
    mutating: true,
  },
  {
    verb: 'register',
    args: ['<host>'],
    flags: {
      type: { type: 'string', value: 'instance|group|project' },
      group: { type: 'string', value: 'ID' },
      project: { type: 'string', value: 'ID' },
      description: { type: 'string', value: 'TEXT' },
      tags: { type: 'string', value: 'a,b' },
      untagged: { type: 'boolean' },
      paused: { type: 'boolean' },
    },
    description: 'create a runner in GitLab and install its token on the host',
    example: 'register ci-1 --type group --group 42 --tags nix,docker',
    mutating: true,
  },
  {
    verb: 'rotate',
    args: ['<host>'],
    flags: { runner: { type: 'string', value: 'NAME|ID' } },
    description: "reset a runner's token on its host (needs a second person's approval)",
    example: 'rotate ci-3 --runner nix',
    mutating: true,
  },
  {
    verb: 'enroll',
    args: ['<host>'],
    flags: { fingerprint: { type: 'string', value: 'SHA256:...' } },
    description: "trust a new host's key once you compared its fingerprint (needs a second person's approval)",
    example: 'enroll ci-4 --fingerprint SHA256:…',
    mutating: true,
  },
  {
    verb: 'runners',
    args: ['[host|all]'],
    flags: {},
    description: "GitLab's runners with status, managers and hosts, and what does not match the hosts' config.toml",
    example: 'runners all',
    mutating: false,
  },
  {
    verb: 'pause',
    args: ['<host|runner>'],
    flags: { reason: { type: 'string', value: 'TEXT' } },
    description: "pause a host's runners (or one runner by id) in GitLab; the reason goes into the maintenance note",
    example: 'pause ci-2 --reason "disk swap"',
    mutating: true,
  },
  {
    verb: 'resume',
    args: ['<host|runner>'],
    flags: { reason: { type: 'string', value: 'TEXT' } },
    description: 'resume paused runners in GitLab (clears the note pause wrote)',
    example: 'resume ci-2',
    mutating: true,
  },
  {
    verb: 'unregister',
    args: ['<host>'],
    flags: { runner: { type: 'string', value: 'NAME|ID' }, 'dry-run': { type: 'boolean' } },
    description: "delete a runner in GitLab and remove it from the host's config (needs a second person's approval)",
    example: 'unregister ci-3 --runner old-nix --dry-run',
    mutating: true,
  },
  {
    verb: 'cleanup-stale',
    args: [],
    flags: { 'older-than': { type: 'string', value: 'DURATION' }, 'dry-run': { type: 'boolean' } },
    description: "delete runners without contact for a while (default 90d); the approval freezes the list",
    example: 'cleanup-stale --older-than 180d --dry-run',
    mutating: true,
  },
  { verb: 'jobs', args: ['[N]'], flags: {}, description: 'the most recent commands and their state', example: 'jobs 10', mutating: false },
  { verb: 'job', args: ['<id>'], flags: {}, description: "one command's result per host", example: 'job 7f3c2a', mutating: false },
  { verb: 'audit', args: ['[N]'], flags: {}, description: 'the most recent audit entries', example: 'audit 20', mutating: false },
  { verb: 'schedules', args: [], flags: {}, description: 'scheduled reports and when they run next', example: 'schedules', mutating: false },
];

export function findVerb(verb: string): VerbSpec | undefined {
  return VERBS.find((spec) => spec.verb === verb);
}

/** `prune <host|all> [--dry-run] [--until DURATION] ...` */
export function usage(spec: VerbSpec): string {
  const flags = Object.entries(spec.flags).map(([name, flag]) => `[--${name}${flag.value ? ` ${flag.value}` : ''}]`);
  return [spec.verb, ...spec.args, ...flags].join(' ');
}
