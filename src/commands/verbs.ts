import { UserError } from '../errors.js';
import { isFingerprint } from '../queue/host-fingerprint.js';
import { clip, parseDuration } from './duration.js';
import { count, hostName, hostPrefix, oneOf, positiveId, required, runnerTarget, RUNNER_REF, tags, target, type Words } from './read-words.js';
import { HOST_STATES, type HostState } from './host-states.js';
import type { HostFilter, RequestOf, Verb } from './requests.js';
import { parseFreeTarget, parseSize } from './size.js';
import { closest } from './suggest.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** Shown in usage: `--top N`. */
  value?: string;
}

/**
 * Whether a verb waits for a second person's approval: `policy` when the policy's `approve` roles say
 * so, `always` whatever the policy says, `always unless dry run` except for its `--dry-run`, which
 * changes nothing.
 */
export type ApprovalRule = 'policy' | 'always' | 'always unless dry run';

/** The grammar row of one verb: its words, its help, its default policy rule and how its words become a request. */
export interface VerbSpec<V extends Verb = Verb> {
  verb: V;
  /** Positional words, e.g. `<host|all>`; `[x]` marks an optional one. */
  args: string[];
  flags: Record<string, FlagSpec>;
  description: string;
  example: string;
  /**
   * Changes something on a host or in GitLab: needs a policy grant to run. A verb that does not is open
   * to everyone unless the policy lists it. This and `approval` are the verb's default policy rule.
   */
  mutating: boolean;
  approval: ApprovalRule;
  /** The typed request of the verb's words (its positionals are counted already); a UserError for bad ones. */
  build(words: Words): RequestOf<V>;
}

/** A grammar row whose `build` is checked to return the request of its own verb. */
function grammarRow<V extends Verb>(spec: VerbSpec<V>): VerbSpec {
  return spec;
}

/** The grammar of `/runner ...` and `runnerops ...`, one entry per verb, in help order. */
export const VERBS: VerbSpec[] = [
  grammarRow({
    verb: 'help',
    args: ['[verb]'],
    flags: {},
    description: 'list the verbs, or explain one',
    example: 'help prune',
    mutating: false,
    approval: 'policy',
    build: (words) => {
      const topic = words.positionals[0];
      if (topic !== undefined && !findVerb(topic)) {
        const guess = closest(
          topic,
          VERBS.map((v) => v.verb),
        );
        throw new UserError(`no help for "${clip(topic)}"${guess ? ` — did you mean "${guess}"?` : '; try "help"'}`);
      }
      return topic === undefined ? { verb: 'help' } : { verb: 'help', topic };
    },
  }),
  grammarRow({
    verb: 'hosts',
    args: ['[all|STATE|PREFIX]'],
    flags: { page: { type: 'string', value: 'N' } },
    description: 'registered hosts and runners; a large fleet gets counts by state, then the hosts that need attention',
    example: 'hosts silent --page 2',
    mutating: false,
    approval: 'policy',
    build: (words) => {
      const word = words.positionals[0];
      const page = words.str('page');
      const filter: HostFilter | undefined =
        word === undefined
          ? page === undefined
            ? undefined
            : { kind: 'all' }
          : word === 'all' || word === 'attention'
            ? { kind: word }
            : (HOST_STATES as readonly string[]).includes(word)
              ? { kind: 'state', state: word as HostState }
              : { kind: 'prefix', prefix: hostPrefix(word) };
      return { verb: 'hosts', ...(filter ? { filter } : {}), ...(page !== undefined ? { page: count(page, '--page', 1, 100_000) } : {}) };
    },
  }),
  grammarRow({
    verb: 'ping',
    args: ['<host|all>'],
    flags: {},
    description: 'round trip to a host worker and back',
    example: 'ping all',
    mutating: false,
    approval: 'policy',
    build: (words) => ({ verb: 'ping', target: target(required(words, 0)) }),
  }),
  grammarRow({
    verb: 'store',
    args: ['<host|all>'],
    flags: { top: { type: 'string', value: 'N' } },
    description: 'Nix store size, garbage a GC would free, largest paths and the trend',
    example: 'store ci-1 --top 5',
    mutating: false,
    approval: 'policy',
    build: (words) => ({ verb: 'store', target: target(required(words, 0)), top: count(words.str('top'), '--top', 10, 100) }),
  }),
  grammarRow({
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
    description:
      'remove exited containers, unused images (--images lru: least recently used first, until --target-free), volumes and build cache (never the nix-daemon)',
    example: 'prune ci-3 --until 24h --dry-run',
    mutating: true,
    approval: 'policy',
    build: (words) => {
      const until = words.str('until');
      if (until !== undefined && parseDuration(until, '--until') > 366 * 86400) throw new UserError('--until may be at most 366d');
      const images = oneOf(words.str('images'), ['dangling', 'unused', 'lru'] as const, '--images');
      const targetText = words.str('target-free');
      if (images === 'lru' && targetText === undefined) throw new UserError('--images lru needs --target-free, e.g. --target-free 20% (or 50G of free space)');
      if (images !== 'lru' && targetText !== undefined) throw new UserError('--target-free only goes with --images lru');
      const targetFree = targetText === undefined ? undefined : parseFreeTarget(targetText, '--target-free');
      return {
        verb: 'prune',
        target: target(required(words, 0)),
        dryRun: words.bool('dry-run'),
        ...(until !== undefined ? { untilSeconds: parseDuration(until, '--until') } : {}),
        volumes: words.bool('volumes'),
        ...(images !== undefined ? { images } : {}),
        ...(targetFree !== undefined ? { targetFree } : {}),
        buildCache: words.bool('build-cache'),
      };
    },
  }),
  grammarRow({
    verb: 'gc',
    args: ['<host|all>'],
    flags: { 'max-freed': { type: 'string', value: 'SIZE' }, 'dry-run': { type: 'boolean' } },
    description: "collect Nix garbage in the runners' store through its daemon (running builds keep their paths)",
    example: 'gc ci-1 --max-freed 20G --dry-run',
    mutating: true,
    approval: 'policy',
    build: (words) => {
      const maxFreed = words.str('max-freed');
      return {
        verb: 'gc',
        target: target(required(words, 0)),
        dryRun: words.bool('dry-run'),
        ...(maxFreed !== undefined ? { maxFreedBytes: parseSize(maxFreed, '--max-freed') } : {}),
      };
    },
  }),
  grammarRow({
    verb: 'restart-daemon',
    args: ['<host>'],
    flags: { drain: { type: 'boolean' }, timeout: { type: 'string', value: 'DURATION' } },
    description: 'restart the nix-daemon container and wait until it answers (--drain pauses runners first)',
    example: 'restart-daemon ci-2 --drain --timeout 30m',
    mutating: true,
    approval: 'policy',
    build: (words) => {
      const timeout = words.str('timeout');
      const timeoutSeconds = timeout === undefined ? 600 : parseDuration(timeout, '--timeout');
      if (timeoutSeconds > 86400) throw new UserError('--timeout may be at most 24h');
      return { verb: 'restart-daemon', host: hostName(required(words, 0)), drain: words.bool('drain'), timeoutSeconds };
    },
  }),
  grammarRow({
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
    approval: 'policy',
    build: (words) => {
      const type = oneOf(words.str('type'), ['instance', 'group', 'project'] as const, '--type');
      if (type === undefined) throw new UserError(`register needs --type instance|group|project; usage: ${words.usage}`);
      const groupId = positiveId(words.str('group'), '--group');
      const projectId = positiveId(words.str('project'), '--project');
      if (type === 'group' && groupId === undefined) throw new UserError('--type group needs --group ID');
      if (type === 'project' && projectId === undefined) throw new UserError('--type project needs --project ID');
      if (type !== 'group' && groupId !== undefined) throw new UserError('--group only goes with --type group');
      if (type !== 'project' && projectId !== undefined) throw new UserError('--project only goes with --type project');
      const description = words.str('description');
      if (description !== undefined && (description.length > 255 || /[\r\n]/.test(description))) {
        throw new UserError('--description must be one line of at most 255 characters');
      }
      return {
        verb: 'register',
        host: hostName(required(words, 0)),
        type,
        ...(groupId !== undefined ? { groupId } : {}),
        ...(projectId !== undefined ? { projectId } : {}),
        ...(description !== undefined ? { description } : {}),
        tags: tags(words.str('tags')),
        untagged: words.bool('untagged'),
        paused: words.bool('paused'),
      };
    },
  }),
  grammarRow({
    verb: 'rotate',
    args: ['<host>'],
    flags: { runner: { type: 'string', value: 'NAME|ID' } },
    description: "reset a runner's token on its host (needs a second person's approval)",
    example: 'rotate ci-3 --runner nix',
    mutating: true,
    approval: 'always',
    build: (words) => {
      const runner = words.str('runner');
      if (runner !== undefined && !RUNNER_REF.test(runner)) {
        throw new UserError(`--runner "${clip(runner)}" is not a runner name or id`);
      }
      return { verb: 'rotate', host: hostName(required(words, 0)), ...(runner !== undefined ? { runner } : {}) };
    },
  }),
  grammarRow({
    verb: 'enroll',
    args: ['<host>'],
    flags: { fingerprint: { type: 'string', value: 'SHA256:...' } },
    description: "trust a new host's key once you compared its fingerprint (needs a second person's approval)",
    example: 'enroll ci-4 --fingerprint SHA256:…',
    mutating: true,
    approval: 'always',
    build: (words) => {
      const fingerprint = words.str('fingerprint');
      if (fingerprint !== undefined && !isFingerprint(fingerprint)) {
        throw new UserError(
          `--fingerprint "${clip(fingerprint)}" is not a host fingerprint; expected SHA256:<43 characters> as "runnerops fingerprint" prints it on the host`,
        );
      }
      return { verb: 'enroll', host: hostName(required(words, 0)), ...(fingerprint !== undefined ? { fingerprint } : {}) };
    },
  }),
  grammarRow({
    verb: 'runners',
    args: ['[host|all]'],
    flags: {},
    description: "GitLab's runners with status, managers and hosts, and what does not match the hosts' config.toml",
    example: 'runners all',
    mutating: false,
    approval: 'policy',
    build: (words) => {
      const word = words.positionals[0];
      return { verb: 'runners', target: word === undefined ? { kind: 'all' } : target(word) };
    },
  }),
  grammarRow({
    verb: 'pause',
    args: ['<host|runner>'],
    flags: { reason: { type: 'string', value: 'TEXT' } },
    description: "pause a host's runners (or one runner by id) in GitLab; the reason goes into the maintenance note",
    example: 'pause ci-2 --reason "disk swap"',
    mutating: true,
    approval: 'policy',
    build: (words) => pauseOrResume('pause', words),
  }),
  grammarRow({
    verb: 'resume',
    args: ['<host|runner>'],
    flags: { reason: { type: 'string', value: 'TEXT' } },
    description: 'resume paused runners in GitLab (clears the note pause wrote)',
    example: 'resume ci-2',
    mutating: true,
    approval: 'policy',
    build: (words) => pauseOrResume('resume', words),
  }),
  grammarRow({
    verb: 'unregister',
    args: ['<host>'],
    flags: { runner: { type: 'string', value: 'NAME|ID' }, 'dry-run': { type: 'boolean' } },
    description: "delete a runner in GitLab and remove it from the host's config (needs a second person's approval)",
    example: 'unregister ci-3 --runner old-nix --dry-run',
    mutating: true,
    approval: 'always unless dry run',
    build: (words) => {
      const runner = words.str('runner');
      if (runner === undefined) throw new UserError(`unregister needs --runner NAME|ID (the runner to delete); usage: ${words.usage}`);
      if (!RUNNER_REF.test(runner)) throw new UserError(`--runner "${clip(runner)}" is not a runner name or id`);
      return { verb: 'unregister', host: hostName(required(words, 0)), runner, dryRun: words.bool('dry-run') };
    },
  }),
  grammarRow({
    verb: 'cleanup-stale',
    args: [],
    flags: { 'older-than': { type: 'string', value: 'DURATION' }, 'dry-run': { type: 'boolean' } },
    description: 'delete runners without contact for a while (default 90d); the approval freezes the list',
    example: 'cleanup-stale --older-than 180d --dry-run',
    mutating: true,
    approval: 'always unless dry run',
    build: (words) => {
      const olderThan = words.str('older-than');
      const olderThanSeconds = olderThan === undefined ? 90 * 86400 : parseDuration(olderThan, '--older-than');
      if (olderThanSeconds < 7 * 86400) throw new UserError('--older-than must be at least 7d: GitLab calls a runner stale only after 7 days without contact');
      if (olderThanSeconds > 3650 * 86400) throw new UserError('--older-than may be at most 3650d');
      return { verb: 'cleanup-stale', olderThanSeconds, dryRun: words.bool('dry-run') };
    },
  }),
  grammarRow({
    verb: 'jobs',
    args: ['[N]'],
    flags: {},
    description: 'the most recent commands and their state',
    example: 'jobs 10',
    mutating: false,
    approval: 'policy',
    build: (words) => ({ verb: 'jobs', limit: count(words.positionals[0], 'N', 10, 100) }),
  }),
  grammarRow({
    verb: 'job',
    args: ['<id>'],
    flags: {},
    description: "one command's result per host",
    example: 'job 7f3c2a',
    mutating: false,
    approval: 'policy',
    build: (words) => {
      const id = required(words, 0);
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new UserError(`"${clip(id)}" is not a job id; "jobs" lists recent ones`);
      return { verb: 'job', id };
    },
  }),
  grammarRow({
    verb: 'audit',
    args: ['[N]'],
    flags: {},
    description: 'the most recent audit entries',
    example: 'audit 20',
    mutating: false,
    approval: 'policy',
    build: (words) => ({ verb: 'audit', limit: count(words.positionals[0], 'N', 20, 500) }),
  }),
  grammarRow({
    verb: 'schedules',
    args: [],
    flags: {},
    description: 'scheduled reports and when they run next',
    example: 'schedules',
    mutating: false,
    approval: 'policy',
    build: () => ({ verb: 'schedules' }),
  }),
];

function pauseOrResume(verb: 'pause' | 'resume', words: Words): RequestOf<'pause'> {
  const reason = words.str('reason');
  if (reason !== undefined && (reason.trim() === '' || reason.length > 255 || /[\r\n]/.test(reason))) {
    throw new UserError('--reason must be one line of 1 to 255 characters');
  }
  return { verb, target: runnerTarget(required(words, 0)), ...(reason !== undefined ? { reason: reason.trim() } : {}) };
}

export function findVerb(verb: string): VerbSpec | undefined {
  return VERBS.find((spec) => spec.verb === verb);
}

/** `prune <host|all> [--dry-run] [--until DURATION] ...` */
export function usage(spec: VerbSpec): string {
  const flags = Object.entries(spec.flags).map(([name, flag]) => `[--${name}${flag.value ? ` ${flag.value}` : ''}]`);
  return [spec.verb, ...spec.args, ...flags].join(' ');
}
