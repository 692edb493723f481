import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { UserError } from './errors.js';
import { isFingerprint } from './queue/host-fingerprint.js';
import { parseRedisUrl } from './queue/redis.js';
import { parseKeyRing } from './queue/signing-keys.js';
import { DEFAULT_RETENTION_SECONDS } from './queue/retention.js';
import { parseDuration } from './commands/duration.js';
import { isValidHostName } from './queue/names.js';

type Env = Record<string, string | undefined>;

/** Settings shared by every process. */
export interface CommonSettings {
  /**
   * Redis connection URL: `redis://` / `rediss://` (one Redis), `redis+cluster://h1:p1,h2:p2` (Redis Cluster) or
   * `redis+sentinel://s1:p1,s2:p2/<master name>` (Sentinel); see docs/reliability.md. @defaultValue `redis://127.0.0.1:6379`
   */
  redisUrl: string;
  /** Key prefix for every queue and key; braces keep each queue in one Redis Cluster slot. @defaultValue `{runnerops}` */
  prefix: string;
  /** pino log level. @defaultValue `info` */
  logLevel: string;
}

export type TokenMode = 'config-toml' | 'nixos-module' | 'env-template';

/** Settings of `runnerops worker` (one per runner host). */
export interface WorkerSettings extends CommonSettings {
  /** This host's name in the registry and its queue name. @defaultValue the hostname */
  host: string;
  /** Free-form labels published in the registry (`RUNNEROPS_LABELS=rack=a,gpu=no`). @defaultValue none */
  labels: Record<string, string>;
  /** Seconds between heartbeats; the registry entry expires after three missed ones. @defaultValue 5 */
  heartbeatSeconds: number;
  /** Where the worker keeps its key pair and recovery files (mode 0700). @defaultValue `/var/lib/runnerops` */
  stateDir: string;
  /** Docker Engine address (`unix:///path` or `tcp://host:port`). @defaultValue the local socket */
  dockerHost: string | undefined;
  /** GitLab base URL for the runner-token endpoints. @defaultValue unset (runner jobs refuse to start) */
  gitlabUrl: string | undefined;
  /** gitlab-runner's config.toml. @defaultValue `/var/lib/gitlab-runner/.gitlab-runner/config.toml` (NixOS) */
  runnerConfigPath: string;
  /** Where this host keeps runner tokens. @defaultValue `config-toml` */
  tokenMode: TokenMode;
  /** Directory of per-runner `authenticationTokenConfigFile`s (nixos-module mode). @defaultValue `/var/lib/runnerops/tokens` */
  tokenDir: string;
  /** EnvironmentFile with `TOKEN_<NAME>=` lines (env-template mode). @defaultValue `/run/secrets/gitlab-runner.env` */
  envFile: string;
  /**
   * env-template mode: the config.toml template (JSON, as deploy/nixos renders it) whose runner tokens are
   * `@TOKEN_<NAME>@` placeholders; `register` refuses a runner the template has no placeholder for. @defaultValue unset (not checked)
   */
  configTemplatePath: string | undefined;
  /** Command that makes gitlab-runner pick up new tokens. @defaultValue `systemctl reload gitlab-runner` */
  reloadCommand: string;
  /** Name of the long-lived nix-daemon container. @defaultValue `gitlabnix` */
  nixDaemonContainer: string;
  /** Nix state directory (holds db/db.sqlite, gcroots, profiles). @defaultValue `/nix/var/nix` */
  nixStateDir: string;
  /** Nix store directory. @defaultValue `/nix/store` */
  nixStoreDir: string;
  /** Port for /healthz and /metrics; 0 disables. @defaultValue 0 */
  metricsPort: number;
  /**
   * The bot public keys whose signatures this worker accepts (`RUNNEROPS_BOT_KEYS`: `ed25519:...` keys
   * separated by commas, or the path of a file with one per line). Never read from Redis. Required.
   */
  botKeys: ReadonlyMap<string, KeyObject>;
  /** Objects with this label are never pruned, whatever a job asks. @defaultValue `runnerops.keep=true` */
  protectLabel: string;
  /** Whether a prune may remove named volumes at all (a job can only narrow this). @defaultValue false */
  pruneNamedVolumes: boolean;
  /** The disk-pressure watch as this host allows it; the bot's policy can only turn it off or lower the thresholds. */
  watch: WatchLimits;
}

/** What a host's own config allows its disk-pressure watch to do. */
export interface WatchLimits {
  /** `RUNNEROPS_WATCH=on` lets the watch prune this host. @defaultValue false */
  enabled: boolean;
  /** Prune below this much free space at most. @defaultValue 10 */
  minFreePercent: number;
  /** Prune up to this much free space at most. @defaultValue 20 */
  targetFreePercent: number;
}

/** Settings of `runnerops bot`. */
export interface BotSettings extends CommonSettings {
  /** Bot token (`xoxb-`). Without it (and without an app token) the bot runs only the local console. */
  slackBotToken: string | undefined;
  /** Signing secret for HTTP mode. */
  slackSigningSecret: string | undefined;
  /** App-level token (`xapp-`): Socket Mode when set. */
  slackAppToken: string | undefined;
  /** Web API base URL. @defaultValue `https://slack.com/api/` */
  slackApiUrl: string | undefined;
  /** HTTP port for `/slack/events` in HTTP mode. @defaultValue 3000 */
  port: number;
  /** GitLab base URL for control-plane calls. @defaultValue unset */
  gitlabUrl: string | undefined;
  /** GitLab user token (create/pause runners). @defaultValue unset */
  gitlabToken: string | undefined;
  /** Policy file path. @defaultValue unset: read-only verbs for everyone, mutating verbs for nobody */
  policyPath: string | undefined;
  /** Port for /healthz and /metrics; 0 disables. @defaultValue 0 */
  metricsPort: number;
  /** Also write the audit log as JSON lines to this file ("-" for stdout). @defaultValue unset */
  auditFile: string | undefined;
  /** The bot's Ed25519 job-signing key file (`runnerops keygen <file>`); shared by bot replicas. Required. */
  signingKeyFile: string | undefined;
  /** Earlier bot public keys still accepted during a key rotation (`RUNNEROPS_BOT_KEYS`). @defaultValue none */
  previousBotKeys: ReadonlyMap<string, KeyObject>;
  /** Host fingerprints pinned in config (`RUNNEROPS_ENROLLED_HOSTS`: `host=SHA256:...` pairs or a file of them). @defaultValue none */
  enrolledHosts: ReadonlyMap<string, string>;
  /** Unix socket of the local API the terminal commands use. @defaultValue `/run/runnerops/api.sock` */
  apiSocket: string;
  /** Seconds finished commands (records, card rows, BullMQ jobs) stay in Redis, from `RUNNEROPS_RETENTION` (e.g. `14d`, at least `1h`). @defaultValue 14 days */
  retentionSeconds: number;
}

function readString(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UserError(`${name}="${raw}" is not valid; expected a whole number from ${min} to ${max}`);
  }
  return value;
}

function readUrl(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = readString(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserError(`${name}="${raw}" is not a URL; expected e.g. ${protocols[0]}//host:port`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new UserError(`${name} must use ${protocols.join(' or ')}, got "${url.protocol}"`);
  }
  return raw;
}

function readPrefixed(env: Env, name: string, prefix: string, hint: string): string | undefined {
  const raw = readString(env, name);
  if (raw !== undefined && !raw.startsWith(prefix)) {
    throw new UserError(`${name} does not look right: it should start with "${prefix}" (${hint})`);
  }
  return raw;
}

function readAbsolutePath(env: Env, name: string, fallback: string): string {
  const raw = readString(env, name) ?? fallback;
  if (!path.isAbsolute(raw)) throw new UserError(`${name}="${raw}" must be an absolute path`);
  return path.normalize(raw);
}

/** A host name as used in commands and queue names (the contract keeps the rule: src/queue/names.ts). */
export { isValidHostName };

/** REDIS_URL, checked now (single, Cluster or Sentinel form) so a typo stops the process at start. */
function readRedisUrl(env: Env): string {
  const raw = readString(env, 'REDIS_URL') ?? 'redis://127.0.0.1:6379';
  parseRedisUrl(raw);
  return raw;
}

export function readCommonSettings(env: Env = process.env): CommonSettings {
  const prefix = readString(env, 'RUNNEROPS_PREFIX') ?? '{runnerops}';
  if (!/^\{[A-Za-z0-9_-]+\}$/.test(prefix)) {
    throw new UserError(`RUNNEROPS_PREFIX="${prefix}" must be a Redis hash tag like "{runnerops}" so each queue stays in one Cluster slot`);
  }
  return {
    redisUrl: readRedisUrl(env),
    prefix,
    logLevel: readString(env, 'LOG_LEVEL') ?? 'info',
  };
}

/** A value given inline, or the contents of the file it names (an absolute path). */
function readInlineOrFile(env: Env, name: string): string | undefined {
  const raw = readString(env, name);
  if (raw === undefined || !path.isAbsolute(raw)) return raw;
  try {
    return readFileSync(raw, 'utf8');
  } catch {
    throw new UserError(`${name}=${raw} cannot be read; give the keys inline or the path of a readable file`);
  }
}

function readBool(env: Env, name: string, fallback: boolean, words: [string, string] = ['true', 'false']): boolean {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  if (raw === words[0]) return true;
  if (raw === words[1]) return false;
  throw new UserError(`${name}="${raw}" is not valid; expected ${words[0]} or ${words[1]}`);
}

/** `host=SHA256:...` pairs (commas or new lines), inline or in a file. */
export function parseEnrolledHosts(text: string | undefined, name: string): Map<string, string> {
  const pinned = new Map<string, string>();
  for (const pair of (text ?? '')
    .split(/[\n,]+/)
    .map((p) => p.replace(/#.*/, '').trim())
    .filter(Boolean)) {
    const [host, fingerprint, ...rest] = pair.split(/[=\s]+/);
    if (!host || !fingerprint || rest.length > 0 || !isValidHostName(host) || !isFingerprint(fingerprint)) {
      throw new UserError(`${name} has "${pair.slice(0, 80)}"; expected host=SHA256:<43 characters> as printed by "runnerops fingerprint" on that host`);
    }
    pinned.set(host, fingerprint);
  }
  return pinned;
}

function readLabels(env: Env): Record<string, string> {
  const raw = readString(env, 'RUNNEROPS_LABELS');
  const labels: Record<string, string> = {};
  if (raw === undefined) return labels;
  for (const pair of raw.split(',')) {
    const [key, value, ...rest] = pair.split('=');
    if (!key || value === undefined || rest.length > 0) {
      throw new UserError(`RUNNEROPS_LABELS has "${pair}"; expected key=value pairs separated by commas`);
    }
    labels[key.trim()] = value.trim();
  }
  return labels;
}

export function readWorkerSettings(env: Env = process.env): WorkerSettings {
  const host = readString(env, 'RUNNEROPS_HOST') ?? os.hostname();
  if (!isValidHostName(host)) {
    throw new UserError(`RUNNEROPS_HOST="${host}" is not a valid host name; use letters, digits, ".", "-" or "_" (and not "all")`);
  }
  const tokenMode = readString(env, 'RUNNEROPS_TOKEN_MODE') ?? 'config-toml';
  if (tokenMode !== 'config-toml' && tokenMode !== 'nixos-module' && tokenMode !== 'env-template') {
    throw new UserError(`RUNNEROPS_TOKEN_MODE="${tokenMode}" is not valid; expected config-toml, nixos-module or env-template`);
  }
  const stateDir = readAbsolutePath(env, 'RUNNEROPS_STATE_DIR', '/var/lib/runnerops');
  return {
    ...readCommonSettings(env),
    host,
    labels: readLabels(env),
    heartbeatSeconds: readInt(env, 'RUNNEROPS_HEARTBEAT_SECONDS', 5, 1, 300),
    stateDir,
    dockerHost: readString(env, 'DOCKER_HOST'),
    gitlabUrl: readUrl(env, 'GITLAB_URL', ['https:', 'http:']),
    runnerConfigPath: readAbsolutePath(env, 'GITLAB_RUNNER_CONFIG', '/var/lib/gitlab-runner/.gitlab-runner/config.toml'),
    tokenMode,
    tokenDir: readAbsolutePath(env, 'RUNNEROPS_TOKEN_DIR', path.join(stateDir, 'tokens')),
    envFile: readAbsolutePath(env, 'RUNNEROPS_ENV_FILE', '/run/secrets/gitlab-runner.env'),
    configTemplatePath: readString(env, 'RUNNEROPS_CONFIG_TEMPLATE') === undefined ? undefined : readAbsolutePath(env, 'RUNNEROPS_CONFIG_TEMPLATE', '/'),
    reloadCommand: readString(env, 'RUNNEROPS_RELOAD_COMMAND') ?? 'systemctl reload gitlab-runner',
    nixDaemonContainer: readString(env, 'NIX_DAEMON_CONTAINER') ?? 'gitlabnix',
    nixStateDir: readAbsolutePath(env, 'NIX_STATE_DIR', '/nix/var/nix'),
    nixStoreDir: readAbsolutePath(env, 'NIX_STORE_DIR', '/nix/store'),
    metricsPort: readInt(env, 'RUNNEROPS_METRICS_PORT', 0, 0, 65535),
    botKeys: readBotKeys(env),
    protectLabel: readProtectLabel(env),
    pruneNamedVolumes: readBool(env, 'RUNNEROPS_PRUNE_NAMED_VOLUMES', false),
    watch: {
      enabled: readBool(env, 'RUNNEROPS_WATCH', false, ['on', 'off']),
      minFreePercent: readInt(env, 'RUNNEROPS_WATCH_MIN_FREE_PERCENT', 10, 1, 90),
      targetFreePercent: readInt(env, 'RUNNEROPS_WATCH_TARGET_FREE_PERCENT', 20, 1, 95),
    },
  };
}

function readBotKeys(env: Env): ReadonlyMap<string, KeyObject> {
  const text = readInlineOrFile(env, 'RUNNEROPS_BOT_KEYS');
  const ring = parseKeyRing(text ?? '', 'RUNNEROPS_BOT_KEYS');
  if (ring.size === 0) {
    throw new UserError(
      'RUNNEROPS_BOT_KEYS is not set; give the bot\'s public key (printed by "runnerops keygen" where the bot\'s key was made), so this worker runs only jobs the bot signed',
    );
  }
  return ring;
}

function readProtectLabel(env: Env): string {
  const label = readString(env, 'RUNNEROPS_PROTECT_LABEL') ?? 'runnerops.keep=true';
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*(=[A-Za-z0-9._/-]*)?$/.test(label))
    throw new UserError(`RUNNEROPS_PROTECT_LABEL="${label}" is not valid; expected key=value or key`);
  return label;
}

export function readBotSettings(env: Env = process.env): BotSettings {
  const slackApiUrl = readUrl(env, 'SLACK_API_URL', ['https:', 'http:']);
  return {
    ...readCommonSettings(env),
    slackBotToken: readPrefixed(env, 'SLACK_BOT_TOKEN', 'xoxb-', 'the Bot User OAuth Token from "OAuth & Permissions"'),
    slackSigningSecret: readString(env, 'SLACK_SIGNING_SECRET'),
    slackAppToken: readPrefixed(env, 'SLACK_APP_TOKEN', 'xapp-', 'an App-Level Token with connections:write'),
    slackApiUrl: slackApiUrl === undefined || slackApiUrl.endsWith('/') ? slackApiUrl : `${slackApiUrl}/`,
    port: readInt(env, 'PORT', 3000, 0, 65535),
    gitlabUrl: readUrl(env, 'GITLAB_URL', ['https:', 'http:']),
    gitlabToken: readString(env, 'GITLAB_TOKEN'),
    policyPath: readString(env, 'RUNNEROPS_POLICY'),
    metricsPort: readInt(env, 'RUNNEROPS_METRICS_PORT', 0, 0, 65535),
    auditFile: readString(env, 'RUNNEROPS_AUDIT_FILE'),
    signingKeyFile: readString(env, 'RUNNEROPS_SIGNING_KEY'),
    previousBotKeys: parseKeyRing(readInlineOrFile(env, 'RUNNEROPS_BOT_KEYS') ?? '', 'RUNNEROPS_BOT_KEYS'),
    enrolledHosts: parseEnrolledHosts(readInlineOrFile(env, 'RUNNEROPS_ENROLLED_HOSTS'), 'RUNNEROPS_ENROLLED_HOSTS'),
    apiSocket: readAbsolutePath(env, 'RUNNEROPS_API_SOCKET', '/run/runnerops/api.sock'),
    retentionSeconds: readRetention(env),
  };
}

function readRetention(env: Env): number {
  const raw = readString(env, 'RUNNEROPS_RETENTION');
  if (raw === undefined) return DEFAULT_RETENTION_SECONDS;
  const seconds = parseDuration(raw, 'RUNNEROPS_RETENTION');
  if (seconds < 3600) throw new UserError(`RUNNEROPS_RETENTION="${raw}" is too short; keep finished commands at least 1h (e.g. 14d)`);
  return seconds;
}

/** Which way the bot talks to Slack, decided from the settings; explains what is missing. */
export function slackMode(settings: BotSettings): 'socket' | 'http' | 'console' {
  if (settings.slackAppToken) {
    if (!settings.slackBotToken) throw new UserError('SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not; Socket Mode needs both');
    return 'socket';
  }
  if (settings.slackSigningSecret) {
    if (!settings.slackBotToken) throw new UserError('SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not; HTTP mode needs both');
    return 'http';
  }
  return 'console';
}
