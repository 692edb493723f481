import { parseArgs } from 'node:util';
import { UserError } from '../errors.js';
import { clip } from './duration.js';
import type { Request } from './requests.js';
import { closest } from './suggest.js';
import { tokenize } from './tokenize.js';
import { VERBS, findVerb, usage, type VerbSpec } from './verbs.js';

type Values = Record<string, string | boolean | undefined>;

/**
 * Parses the text after `/runner` (or the CLI's arguments joined) into a typed request.
 * Every failure is a UserError with one line saying what was wrong and what would be right. The flags
 * and positionals come from the verb's grammar row (verbs.ts), which also builds the typed request.
 */
export function parseCommand(input: string | string[]): Request {
  const words = typeof input === 'string' ? tokenize(input) : input;
  const [verbWord, ...rest] = words;
  if (verbWord === undefined) return { verb: 'help' };
  const spec = findVerb(verbWord.toLowerCase());
  if (!spec) {
    const guess = closest(
      verbWord,
      VERBS.map((v) => v.verb),
    );
    throw new UserError(
      guess ? `unknown verb "${clip(verbWord)}" — did you mean "${guess}"?` : `unknown verb "${clip(verbWord)}"; try "help" for the list of verbs`,
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

function buildRequest(spec: VerbSpec, values: Values, positionals: string[]): Request {
  expectPositionals(spec, positionals);
  return spec.build({
    positionals,
    str: (name) => values[name] as string | undefined,
    bool: (name) => values[name] === true,
    usage: usage(spec),
  });
}
