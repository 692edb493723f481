import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { checkSourceSafe } from './check-install-input.js';
import { readIfExists } from './write-file-atomic.js';

/**
 * The two token-file formats besides config.toml:
 * - nixos-module: one `authenticationTokenConfigFile` per runner (`CI_SERVER_URL`, `CI_SERVER_TOKEN`),
 *   `<tokenDir>/<name>.env`, with a comment naming the runner id so it is found again after a rotation;
 * - env-template: the seed's `EnvironmentFile` with `TOKEN_<NAME>=` lines that the service's configure
 *   script substitutes for `@TOKEN_<NAME>@` in its config.toml template.
 */

/** File-name-safe form of a runner name: `Nix caching runner` -> `nix-caching-runner`. */
export function slugOf(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug === '' ? 'runner' : slug.slice(0, 60);
}

/** Environment variable of a runner's token in env-template mode: `nix` -> `TOKEN_NIX`. */
export function tokenVarFor(name: string): string {
  return `TOKEN_${slugOf(name).toUpperCase().replace(/-/g, '_')}`;
}

export function authTokenFilePath(tokenDir: string, name: string): string {
  return path.join(tokenDir, `${slugOf(name)}.env`);
}

/** `KEY=value` lines of an env file (comments and blank lines skipped, optional quotes removed). */
export function parseEnvFile(text: string | undefined): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of (text ?? '').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m || m[1] === undefined || m[2] === undefined) continue;
    values.set(m[1], m[2].replace(/^(['"])(.*)\1$/, '$2'));
  }
  return values;
}

/**
 * Sets `name=value`, replacing an existing line in place or appending; every other line is kept. A
 * value bash would expand or run when it sources the file is refused (PermanentJobError).
 */
export function setEnvVar(text: string | undefined, name: string, value: string): string {
  checkSourceSafe(name, value);
  const lines = (text ?? '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const pattern = new RegExp(`^\\s*(?:export\\s+)?${name}=`);
  let found = false;
  const out = lines.map((line) => {
    if (!pattern.test(line)) return line;
    found = true;
    return `${name}=${value}`;
  });
  if (!found) out.push(`${name}=${value}`);
  return `${out.join('\n')}\n`;
}

export function removeEnvVar(text: string | undefined, name: string): string {
  const pattern = new RegExp(`^\\s*(?:export\\s+)?${name}=`);
  const lines = (text ?? '').split('\n').filter((line) => !pattern.test(line));
  if (lines.at(-1) === '') lines.pop();
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The variable whose value is `value` (a runner's current token), if any. */
export function findVarByValue(text: string | undefined, value: string): string | undefined {
  for (const [name, v] of parseEnvFile(text)) if (v === value) return name;
  return undefined;
}

export function renderAuthTokenFile(runner: { id: number; name: string; url: string; token: string }): string {
  checkSourceSafe('CI_SERVER_URL', runner.url);
  checkSourceSafe('CI_SERVER_TOKEN', runner.token);
  return [
    `# runnerops: runner #${runner.id} "${runner.name.replace(/["\n]/g, '')}" (authenticationTokenConfigFile)`,
    `CI_SERVER_URL=${runner.url}`,
    `CI_SERVER_TOKEN=${runner.token}`,
    '',
  ].join('\n');
}

/** The runner id named in an auth token file's runnerops comment. */
export function runnerIdOfAuthFile(text: string | undefined): number | undefined {
  const m = /^# runnerops: runner #(\d+)/m.exec(text ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * The auth token file of a runner in `tokenDir`: the one whose comment names `runnerId`, else the one
 * holding `token`, else `<name>.env`. Undefined when none exists.
 */
export async function findAuthTokenFile(tokenDir: string, runner: { id?: number; token?: string; name?: string }): Promise<string | undefined> {
  let names: string[];
  try {
    names = (await readdir(tokenDir)).filter((n) => n.endsWith('.env')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const files = await Promise.all(names.map(async (n) => ({ file: path.join(tokenDir, n), text: await readIfExists(path.join(tokenDir, n)) })));
  const byId = runner.id !== undefined ? files.find((f) => runnerIdOfAuthFile(f.text) === runner.id) : undefined;
  if (byId) return byId.file;
  const byToken = runner.token !== undefined ? files.find((f) => parseEnvFile(f.text).get('CI_SERVER_TOKEN') === runner.token) : undefined;
  if (byToken) return byToken.file;
  if (runner.name !== undefined) {
    const byName = authTokenFilePath(tokenDir, runner.name);
    if (files.some((f) => f.file === byName)) return byName;
  }
  return undefined;
}
