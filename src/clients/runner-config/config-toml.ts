import { createHash } from 'node:crypto';
import { parse, stringify, TomlDate, TomlError } from 'smol-toml';
import { PermanentJobError, UserError } from '../../errors.js';
import type { RunnerSummary } from '../../queue/host-registry.js';

/** gitlab-runner's config.toml as parsed: global keys plus `runners` (common/config.go). */
export type RunnerConfig = Record<string, unknown> & { runners?: RunnerEntry[] };

/** One `[[runners]]` entry; unknown keys are kept as they are. */
export type RunnerEntry = Record<string, unknown> & {
  name?: string;
  url?: string;
  id?: number;
  token?: string;
  token_obtained_at?: Date;
  token_expires_at?: Date;
};

/** How an entry is found again after a re-read: by GitLab id when it has one, else by name. */
export interface EntryMatch {
  id?: number;
  name?: string;
}

/** Go's zero time: what gitlab-runner writes for a token that does not expire. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Parses config.toml; an empty or missing file is an empty config. */
export function parseRunnerConfig(text: string | undefined, file = 'config.toml'): RunnerConfig {
  if (text === undefined || text.trim() === '') return {};
  try {
    const config = parse(text) as RunnerConfig;
    if (config.runners !== undefined && !Array.isArray(config.runners)) {
      throw new PermanentJobError(`${file} has "runners" that is not an array of [[runners]] tables; fix the file`);
    }
    return config;
  } catch (err) {
    if (err instanceof TomlError) {
      throw new PermanentJobError(`${file} is not valid TOML (line ${err.line}, column ${err.column}); fix it before changing runners`);
    }
    throw err;
  }
}

/** TOML text of a config; token dates in whole seconds (`2026-01-02T03:04:05Z`) as gitlab-runner writes them. */
export function stringifyRunnerConfig(config: RunnerConfig): string {
  return stringify(config).replace(/^(\s*token_(?:obtained|expires)_at = \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.000Z$/gm, '$1Z');
}

/** A TOML datetime (RFC 3339, whole seconds, UTC) as gitlab-runner writes it. */
export function tomlTime(value: string | Date | null): TomlDate {
  if (value === null) return new TomlDate(ZERO_TIME);
  const date = new Date(value);
  return new TomlDate(date.toISOString().replace(/\.\d{3}Z$/, 'Z'));
}

/**
 * An RFC 3339 expiry from a config.toml value; undefined for the zero time or no value. A string is
 * read too: nixpkgs' configure script pipes config.toml through `remarshal --stringify`, which turns
 * gitlab-runner's datetimes into strings (`2026-01-02T03:04:05+00:00`) that gitlab-runner still parses.
 */
export function expiryFrom(value: unknown): string | undefined {
  const date = value instanceof Date ? value : typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value) ? new Date(value) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) return undefined;
  if (date.getUTCFullYear() <= 1) return undefined;
  return new Date(date.getTime()).toISOString();
}

export function entryMatches(entry: RunnerEntry, match: EntryMatch): boolean {
  if (match.id !== undefined && typeof entry.id === 'number') return entry.id === match.id;
  return match.name !== undefined && entry.name === match.name;
}

/** Runner entries for the registry and reports: name, id, url, token expiry; never the token. */
export function summarizeRunners(config: RunnerConfig): RunnerSummary[] {
  return (config.runners ?? []).map((entry) => {
    const expires = expiryFrom(entry.token_expires_at);
    return {
      name: String(entry.name ?? ''),
      ...(typeof entry.id === 'number' ? { id: entry.id } : {}),
      ...(typeof entry.url === 'string' ? { url: entry.url } : {}),
      ...(expires ? { tokenExpiresAt: expires } : {}),
      ...(typeof entry.token === 'string' && entry.token !== '' ? { tokenFingerprint: tokenFingerprint(entry.token) } : {}),
    };
  });
}

/**
 * What hosts publish instead of a token, to find one token on several hosts: 16 hex digits of its
 * SHA-256 (64 bits of a hash of a high-entropy token: nothing to guess it from).
 */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/**
 * The entry `selector` names (a name, or a GitLab id as digits). Without a selector the host must
 * have exactly one runner. Errors list what there is.
 */
export function selectRunnerEntry(config: RunnerConfig, selector: string | undefined, host: string): RunnerEntry {
  const entries = config.runners ?? [];
  const names = entries.map((e) => (typeof e.id === 'number' ? `${String(e.name)} (#${e.id})` : String(e.name)));
  if (entries.length === 0) throw new UserError(`${host} has no runners in its config.toml; register one with /runner register ${host} --type ...`);
  if (selector === undefined) {
    if (entries.length === 1) return entries[0]!;
    throw new UserError(`${host} has ${entries.length} runners; say which with --runner NAME|ID: ${names.join(', ')}`);
  }
  const byId = /^#?\d+$/.test(selector) ? entries.find((e) => e.id === Number(selector.replace('#', ''))) : undefined;
  const found = byId ?? entriesNamed(entries, selector, host);
  if (!Array.isArray(found)) return found;
  if (found.length === 1) return found[0]!;
  if (found.length > 1) throw new UserError(`${host} has ${found.length} runners named "${selector}"; use the id instead: ${names.join(', ')}`);
  throw new UserError(`${host} has no runner "${selector}"; it has: ${names.join(', ')}`);
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Entries named `selector`: exactly, else as nixpkgs' services.gitlab-runner names a declared runner
 * in config.toml: `<name>_<hostName>_<12 hex>` (this host's name first, then any), or
 * `<12 hex> <description>` when the service has a description.
 */
function entriesNamed(entries: RunnerEntry[], selector: string, host: string): RunnerEntry[] {
  const name = escapeRegExp(selector);
  for (const pattern of [
    new RegExp(`^${name}$`),
    new RegExp(`^${name}_${escapeRegExp(host)}_[0-9a-f]{12}$`),
    new RegExp(`^${name}_[^_\\s]+_[0-9a-f]{12}$`),
    new RegExp(`^[0-9a-f]{12} ${name}$`),
  ]) {
    const found = entries.filter((e) => typeof e.name === 'string' && pattern.test(e.name));
    if (found.length > 0) return found;
  }
  return [];
}

export interface TokenCredentials {
  token: string;
  obtainedAt: string | Date;
  /** RFC 3339, or null when the token does not expire. */
  expiresAt: string | null;
}

/**
 * Sets the token, token_obtained_at and token_expires_at of the matching entry, keeping everything
 * else. Both dates are always written: with obtained_at left at zero gitlab-runner rotates at once.
 */
export function setEntryToken(text: string | undefined, match: EntryMatch, creds: TokenCredentials, file = 'config.toml'): string {
  const config = parseRunnerConfig(text, file);
  const entry = (config.runners ?? []).find((e) => entryMatches(e, match));
  if (!entry)
    throw new PermanentJobError(
      `${file} no longer has the runner ${match.id !== undefined ? `#${match.id}` : `"${match.name}"`}; it was removed while the token was being written`,
    );
  entry.token = creds.token;
  entry.token_obtained_at = tomlTime(creds.obtainedAt);
  entry.token_expires_at = tomlTime(creds.expiresAt);
  return stringifyRunnerConfig(config);
}

/** Appends a `[[runners]]` entry; refuses a name or id that is already there. */
export function appendEntry(text: string | undefined, entry: RunnerEntry, file = 'config.toml'): string {
  const config = parseRunnerConfig(text, file);
  const runners = config.runners ?? [];
  const clash = runners.find((e) => e.name === entry.name || (entry.id !== undefined && e.id === entry.id));
  if (clash) throw new PermanentJobError(`${file} already has a runner named "${String(clash.name)}"; pick another --description`);
  config.runners = [...runners, entry];
  if (config.concurrent === undefined) config.concurrent = 1;
  return stringifyRunnerConfig(config);
}

/** Removes the matching entry (undo of a failed install); no-op when absent. */
export function removeEntry(text: string | undefined, match: EntryMatch, file = 'config.toml'): string {
  const config = parseRunnerConfig(text, file);
  config.runners = (config.runners ?? []).filter((e) => !entryMatches(e, match));
  return stringifyRunnerConfig(config);
}
