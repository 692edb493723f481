import { parseArgs } from 'node:util';
import { isValidHostName } from '../queue/names.js';
import { UserError } from '../errors.js';
import { clip, parseDuration } from './duration.js';
import type { Request, RunnerTarget, Target } from './requests.js';
import { parseFreeTarget, parseSize } from './size.js';
import { closest } from './suggest.js';
import { tokenize } from './tokenize.js';
import { VERBS, findVerb, usage, type VerbSpec } from './verbs.js';
import { isFingerprint } from '../queue/host-fingerprint.js';

type Values = Record<string, string | boolean | undefined>;

/**
 * Parses the text after `/runner` (or the CLI's arguments joined) into a typed request.
 * Every failure is a UserError with one line saying what was wrong and what would be right.
 */
export function parseCommand(input: string | string[]): Request {
  const words = typeof input === 'string' ? tokenize(input) : input;
  const [verbWord, ...rest] = words;
  if (verbWord === undefined) return { verb: 'help' };
  const spec = findVerb(verbWord.toLowerCase());
  if (!spec) {
    const guess = closest(verbWord, VERBS.map((v) => v.verb));
    throw new UserError(
      guess
        ? `unknown verb "${clip(verbWord)}" — did you mean "${guess}"?`
        : `unknown verb "${clip(verbWord)}"; try "help" for the list of verbs`,
    );
  }
  const { values, positionals } = parseFlags(spec, rest);
  return buildRequest(spec, values, positionals);
}

function parseFlags(spec: VerbSpec, args: string[]): { values: Values; positionals: string[] } {
  const options = Object.fromEntries(Object.entries(spec.flags).map(([name, flag]) => [name, { type: flag.type }]));
  try {
    const parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (err) {
    throw new UserError(explainParseError(spec, err));
  }
}

function explainParseError(spec: VerbSpec, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  const flagMatch = /'(-{1,2}[^' ]+)/.exec(message);
  const flag = flagMatch?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = flag.replace(/^-+/, '').split('=')[0] ?? '';
    const guess = closest(name, Object.keys(spec.flags));
    if (guess) return `unknown option "${clip(flag)}" for ${spec.verb} — did you mean "--${guess}"?`;
    return `unknown option "${clip(flag)}" for ${spec.verb}; usage: ${usage(spec)}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = /--([a-z-]+)/.exec(message)?.[1];
    const flagSpec = name ? spec.flags[name] : undefined;
    if (flagSpec?.type === 'boolean') return `--${name} takes no value; usage: ${usage(spec)}`;
    return `--${name ?? flag} needs a value${flagSpec?.value ? ` (${flagSpec.value})` : ''}; usage: ${usage(spec)}`;
  }
  return `could not read the options of ${spec.verb}; usage: ${usage(spec)}`;
}

function expectPositionals(spec: VerbSpec, positionals: string[]): void {
  const required = spec.args.filter((a) => a.startsWith('<')).length;
  if (positionals.length < required) {
    throw new UserError(`${spec.verb} needs ${spec.args.join(' ')}; usage: ${usage(spec)}`);
  }
  if (positionals.length > spec.args.length) {
    throw new UserError(`unexpected "${clip(positionals[spec.args.length]!)}" after ${spec.verb}; usage: ${usage(spec)}`);
  }
}

function hostName(word: string): string {
  if (!isValidHostName(word)) {
    throw new UserError(`"${clip(word)}" is not a host name; use letters, digits, ".", "-" or "_"`);
  }
  return word;
}

function target(word: string): Target {
  return word === 'all' ? { kind: 'all' } : { kind: 'host', host: hostName(word) };
}

/** `<host|runner>`: a runner's GitLab id as digits (`123`, `#123`), else a host name. */
function runnerTarget(word: string): RunnerTarget {
  const id = /^#?(\d{1,12})$/.exec(word);
  if (id) {
    if (Number(id[1]) < 1) throw new UserError(`runner id "${clip(word)}" is not valid; expected a GitLab runner id like 123`);
    return { kind: 'runner', id: Number(id[1]) };
  }
  if (word === 'all') throw new UserError('pause and resume take one host or one runner id, not all; "runners all" lists them');
  return { kind: 'host', host: hostName(word) };
}

function count(word: string | undefined, what: string, fallback: number, max: number): number {
  if (word === undefined) return fallback;
  if (!/^\d{1,6}$/.test(word) || Number(word) < 1 || Number(word) > max) {
    throw new UserError(`${what} "${clip(word)}" is not valid; expected a whole number from 1 to ${max}`);
  }
  return Number(word);
}

function positiveId(word: string | undefined, flag: string): number | undefined {
  if (word === undefined) return undefined;
  if (!/^[1-9]\d{0,11}$/.test(word)) throw new UserError(`${flag} "${clip(word)}" is not valid; expected a numeric GitLab id`);
  return Number(word);
}

const TAG = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

function tags(text: string | undefined): string[] {
  if (text === undefined) return [];
  const list = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  for (const tag of list) {
    if (!TAG.test(tag)) throw new UserError(`tag "${clip(tag)}" is not valid; use letters, digits, "_", ".", ":" or "-"`);
  }
  return list;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UserError(`${flag} "${clip(value)}" is not valid; expected ${allowed.join(' or ')}`);
  }
  return value as T;
}

const RUNNER_REF = /^[A-Za-z0-9][A-Za-z0-9 _.:@-]{0,127}$/;

function buildRequest(spec: VerbSpec, values: Values, positionals: string[]): Request {
  expectPositionals(spec, positionals);
  const str = (name: string) => values[name] as string | undefined;
  const bool = (name: string) => values[name] === true;
  /** The first positional, which expectPositionals has required for every verb that reads it. */
  const first = (): string => {
    if (positionals[0] === undefined) throw new UserError(`${spec.verb} needs ${spec.args.join(' ')}; usage: ${usage(spec)}`);
    return positionals[0];
  };
  switch (spec.verb) {
    case 'help': {
      const topic = positionals[0];
      if (topic !== undefined && !findVerb(topic)) {
        const guess = closest(topic, VERBS.map((v) => v.verb));
        throw new UserError(`no help for "${clip(topic)}"${guess ? ` — did you mean "${guess}"?` : '; try "help"'}`);
      }
      return topic === undefined ? { verb: 'help' } : { verb: 'help', topic };
    }
    case 'hosts':
      return { verb: 'hosts' };
    case 'schedules':
      return { verb: 'schedules' };
    case 'ping':
      return { verb: 'ping', target: target(first()) };
    case 'store':
      return { verb: 'store', target: target(first()), top: count(str('top'), '--top', 10, 100) };
    case 'prune': {
      const until = str('until');
      if (until !== undefined && parseDuration(until, '--until') > 366 * 86400) throw new UserError('--until may be at most 366d');
      const images = oneOf(str('images'), ['dangling', 'unused', 'lru'] as const, '--images');
      const targetText = str('target-free');
      if (images === 'lru' && targetText === undefined) throw new UserError('--images lru needs --target-free, e.g. --target-free 20% (or 50G of free space)');
      if (images !== 'lru' && targetText !== undefined) throw new UserError('--target-free only goes with --images lru');
      const targetFree = targetText === undefined ? undefined : parseFreeTarget(targetText, '--target-free');
      return {
        verb: 'prune',
        target: target(first()),
        dryRun: bool('dry-run'),
        ...(until !== undefined ? { untilSeconds: parseDuration(until, '--until') } : {}),
        volumes: bool('volumes'),
        ...(images !== undefined ? { images } : {}),
        ...(targetFree !== undefined ? { targetFree } : {}),
        buildCache: bool('build-cache'),
      };
    }
    case 'gc': {
      const maxFreed = str('max-freed');
      return {
        verb: 'gc',
        target: target(first()),
        dryRun: bool('dry-run'),
        ...(maxFreed !== undefined ? { maxFreedBytes: parseSize(maxFreed, '--max-freed') } : {}),
      };
    }
    case 'restart-daemon': {
      const timeout = str('timeout');
      const timeoutSeconds = timeout === undefined ? 600 : parseDuration(timeout, '--timeout');
      if (timeoutSeconds > 86400) throw new UserError('--timeout may be at most 24h');
      return { verb: 'restart-daemon', host: hostName(first()), drain: bool('drain'), timeoutSeconds };
    }
    case 'register': {
      const type = oneOf(str('type'), ['instance', 'group', 'project'] as const, '--type');
      if (type === undefined) throw new UserError(`register needs --type instance|group|project; usage: ${usage(spec)}`);
      const groupId = positiveId(str('group'), '--group');
      const projectId = positiveId(str('project'), '--project');
      if (type === 'group' && groupId === undefined) throw new UserError('--type group needs --group ID');
      if (type === 'project' && projectId === undefined) throw new UserError('--type project needs --project ID');
      if (type !== 'group' && groupId !== undefined) throw new UserError('--group only goes with --type group');
      if (type !== 'project' && projectId !== undefined) throw new UserError('--project only goes with --type project');
      const description = str('description');
      if (description !== undefined && (description.length > 255 || /[\r\n]/.test(description))) {
        throw new UserError('--description must be one line of at most 255 characters');
      }
      return {
        verb: 'register',
        host: hostName(first()),
        type,
        ...(groupId !== undefined ? { groupId } : {}),
        ...(projectId !== undefined ? { projectId } : {}),
        ...(description !== undefined ? { description } : {}),
        tags: tags(str('tags')),
        untagged: bool('untagged'),
        paused: bool('paused'),
      };
    }
    case 'rotate': {
      const runner = str('runner');
      if (runner !== undefined && !RUNNER_REF.test(runner)) {
        throw new UserError(`--runner "${clip(runner)}" is not a runner name or id`);
      }
      return { verb: 'rotate', host: hostName(first()), ...(runner !== undefined ? { runner } : {}) };
    }
    case 'enroll': {
      const fingerprint = str('fingerprint');
      if (fingerprint !== undefined && !isFingerprint(fingerprint)) {
        throw new UserError(`--fingerprint "${clip(fingerprint)}" is not a host fingerprint; expected SHA256:<43 characters> as "runnerops fingerprint" prints it on the host`);
      }
      return { verb: 'enroll', host: hostName(first()), ...(fingerprint !== undefined ? { fingerprint } : {}) };
    }
    case 'runners':
      return { verb: 'runners', target: positionals[0] === undefined ? { kind: 'all' } : target(positionals[0]) };
    case 'pause':
    case 'resume': {
      const reason = str('reason');
      if (reason !== undefined && (reason.trim() === '' || reason.length > 255 || /[\r\n]/.test(reason))) {
        throw new UserError('--reason must be one line of 1 to 255 characters');
      }
      return { verb: spec.verb, target: runnerTarget(first()), ...(reason !== undefined ? { reason: reason.trim() } : {}) };
    }
    case 'unregister': {
      const runner = str('runner');
      if (runner === undefined) throw new UserError(`unregister needs --runner NAME|ID (the runner to delete); usage: ${usage(spec)}`);
      if (!RUNNER_REF.test(runner)) throw new UserError(`--runner "${clip(runner)}" is not a runner name or id`);
      return { verb: 'unregister', host: hostName(first()), runner, dryRun: bool('dry-run') };
    }
    case 'cleanup-stale': {
      const olderThan = str('older-than');
      const olderThanSeconds = olderThan === undefined ? 90 * 86400 : parseDuration(olderThan, '--older-than');
      if (olderThanSeconds < 7 * 86400) throw new UserError('--older-than must be at least 7d: GitLab calls a runner stale only after 7 days without contact');
      if (olderThanSeconds > 3650 * 86400) throw new UserError('--older-than may be at most 3650d');
      return { verb: 'cleanup-stale', olderThanSeconds, dryRun: bool('dry-run') };
    }
    case 'jobs':
      return { verb: 'jobs', limit: count(positionals[0], 'N', 10, 100) };
    case 'job': {
      const id = first();
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new UserError(`"${clip(id)}" is not a job id; "jobs" lists recent ones`);
      return { verb: 'job', id };
    }
    case 'audit':
      return { verb: 'audit', limit: count(positionals[0], 'N', 20, 500) };
  }
}
