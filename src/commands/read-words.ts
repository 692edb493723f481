import { isValidHostName } from '../queue/names.js';
import { UserError } from '../errors.js';
import { clip } from './duration.js';
import { HOST_STATES } from './host-states.js';
import type { RunnerTarget, Target } from './requests.js';

/** A verb's words after the flags are read: what each row's `build` turns into a typed request. */
export interface Words {
  positionals: string[];
  /** The value of a string flag, or undefined when it was not given. */
  str(name: string): string | undefined;
  /** Whether a boolean flag was given. */
  bool(name: string): boolean;
  /** The verb's usage line, for a refusal that shows it. */
  usage: string;
}

/** The positional at `index` the grammar requires (the parser counted them before `build` runs). */
export function required(words: Words, index: number): string {
  const word = words.positionals[index];
  if (word === undefined) throw new UserError(`a word is missing; usage: ${words.usage}`);
  return word;
}

export function hostName(word: string): string {
  if (!isValidHostName(word)) {
    throw new UserError(`"${clip(word)}" is not a host name; use letters, digits, ".", "-" or "_"`);
  }
  return word;
}

/** A `hosts` filter that is no state word: the start of host names. */
export function hostPrefix(word: string): string {
  if (!isValidHostName(word)) {
    throw new UserError(
      `"${clip(word)}" is neither a host state (${HOST_STATES.join(', ')}) nor the start of a host name; use letters, digits, ".", "-" or "_"`,
    );
  }
  return word;
}

export function target(word: string): Target {
  return word === 'all' ? { kind: 'all' } : { kind: 'host', host: hostName(word) };
}

/** `<host|runner>`: a runner's GitLab id as digits (`123`, `#123`), else a host name. */
export function runnerTarget(word: string): RunnerTarget {
  const id = /^#?(\d{1,12})$/.exec(word);
  if (id) {
    if (Number(id[1]) < 1) throw new UserError(`runner id "${clip(word)}" is not valid; expected a GitLab runner id like 123`);
    return { kind: 'runner', id: Number(id[1]) };
  }
  if (word === 'all') throw new UserError('pause and resume take one host or one runner id, not all; "runners all" lists them');
  return { kind: 'host', host: hostName(word) };
}

export function count(word: string | undefined, what: string, fallback: number, max: number): number {
  if (word === undefined) return fallback;
  if (!/^\d{1,6}$/.test(word) || Number(word) < 1 || Number(word) > max) {
    throw new UserError(`${what} "${clip(word)}" is not valid; expected a whole number from 1 to ${max}`);
  }
  return Number(word);
}

export function positiveId(word: string | undefined, flag: string): number | undefined {
  if (word === undefined) return undefined;
  if (!/^[1-9]\d{0,11}$/.test(word)) throw new UserError(`${flag} "${clip(word)}" is not valid; expected a numeric GitLab id`);
  return Number(word);
}

const TAG = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export function tags(text: string | undefined): string[] {
  if (text === undefined) return [];
  const list = text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  for (const tag of list) {
    if (!TAG.test(tag)) throw new UserError(`tag "${clip(tag)}" is not valid; use letters, digits, "_", ".", ":" or "-"`);
  }
  return list;
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UserError(`${flag} "${clip(value)}" is not valid; expected ${allowed.join(' or ')}`);
  }
  return value as T;
}

/** A runner by its config.toml name or GitLab id. */
export const RUNNER_REF = /^[A-Za-z0-9][A-Za-z0-9 _.:@-]{0,127}$/;
