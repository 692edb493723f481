/**
 * A stand-in for remarshal (the TOML <-> JSON converter nixpkgs' gitlab-runner configure script
 * pipes config.toml through): `remarshal --if toml --of json [--stringify] [FILE]` and
 * `remarshal --if json --of toml [FILE]`, reading stdin without FILE. As remarshal does, `--stringify`
 * turns TOML datetimes into strings in Python's isoformat (`2026-01-02T03:04:05+00:00`); converted
 * back to TOML they stay strings.
 */
import { readFileSync } from 'node:fs';
import { parse, stringify, TomlDate } from 'smol-toml';

function isoformat(date: Date): string {
  const text = date.toISOString();
  return text.replace(/\.000Z$/, '+00:00').replace(/Z$/, '+00:00');
}

function toJson(value: unknown, stringifyDates: boolean): unknown {
  if (value instanceof TomlDate || value instanceof Date) {
    if (!stringifyDates) throw new Error('Cannot convert a datetime to JSON; use --stringify');
    return isoformat(value);
  }
  if (Array.isArray(value)) return value.map((v) => toJson(v, stringifyDates));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v, stringifyDates)]));
  return value;
}

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const from = flag('--if');
const to = flag('--of');
const positional = args.filter((a, i) => !a.startsWith('--') && !['--if', '--of'].includes(args[i - 1] ?? ''));
const input = readFileSync(positional[0] ?? 0, 'utf8');
if (from === 'toml' && to === 'json') {
  process.stdout.write(`${JSON.stringify(toJson(input.trim() === '' ? {} : parse(input), args.includes('--stringify')))}\n`);
} else if (from === 'json' && to === 'toml') {
  process.stdout.write(stringify(JSON.parse(input) as Record<string, unknown>));
} else {
  process.stderr.write(`remarshal stand-in: --if ${String(from)} --of ${String(to)} is not supported\n`);
  process.exit(2);
}
