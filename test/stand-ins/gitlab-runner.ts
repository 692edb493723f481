/**
 * A stand-in for the `gitlab-runner` binary, for tests that run nixpkgs' generated configure script
 * as NixOS runs it. It follows gitlab-runner's documented CLI and what each command does to config.toml
 * and to GitLab (commands/register.go, list.go, verify.go, unregister.go, reset_token.go; network/gitlab.go):
 *
 * - global `--log-format json|text` before the command; config file from `-c/--config`, else
 *   $CONFIG_FILE, else `$HOME/.gitlab-runner/config.toml`; the host's runner-manager id in
 *   `.runner_system_id` next to it (created on first use, `s_` + 12 hex from /etc/machine-id);
 * - `register --non-interactive` (url/token from --url/--token or CI_SERVER_URL/CI_SERVER_TOKEN):
 *   `POST /runners/verify` with token and system_id; 403 is fatal. With a glrt- token, --tag-list,
 *   --locked, --run-untagged, --maximum-timeout, --access-level, --paused and --maintenance-note are
 *   fatal. Appends a [[runners]] entry with name, url, id, token, token_obtained_at (now),
 *   token_expires_at (zero time when none), executor and the docker/env/script flags;
 * - `list`: one log line per runner on stderr (json: `{"msg":<name>,"Token":...,"URL":...,"Executor":...}`);
 * - `verify [--delete] [--name N]`: verify each runner's token; a 403 means "is removed", and with
 *   --delete the entry is dropped from config.toml (other failures keep it);
 * - `unregister --name N | --token T | --all-runners`: for glrt- tokens `DELETE /runners/managers`
 *   (this host's manager only), then the entry is removed from config.toml;
 * - `reset-token --name N`: `POST /runners/reset_authentication_token` and the new token saved in
 *   config.toml, as gitlab-runner does when it rotates an expiring token itself.
 * Every call is appended to `$GITLAB_RUNNER_STAND_IN_LOG` when set (one JSON line: argv), never a token value.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify, TomlDate } from 'smol-toml';

type Entry = Record<string, unknown> & { name?: string; url?: string; token?: string; id?: number };
type Config = Record<string, unknown> & { runners?: Entry[] };

const USER_AGENT = 'gitlab-runner 17.11.0 (stand-in; go1.23; linux/amd64)';
const ZERO_TIME = '0001-01-01T00:00:00Z';
const RESERVED_FOR_AUTH_TOKENS = ['--tag-list', '--locked', '--run-untagged', '--maximum-timeout', '--access-level', '--paused', '--maintenance-note'];

let jsonLogs = false;

function log(level: 'info' | 'warning' | 'error' | 'fatal', msg: string, fields: Record<string, unknown> = {}): void {
  if (jsonLogs) process.stderr.write(`${JSON.stringify({ ...fields, level, msg, time: new Date().toISOString() })}\n`);
  else
    process.stderr.write(
      `${level === 'info' ? '' : `${level.toUpperCase()}: `}${msg}${Object.entries(fields)
        .map(([k, v]) => ` ${k}=${String(v)}`)
        .join('')}\n`,
    );
}

function fatal(msg: string): never {
  log('fatal', msg);
  process.exit(1);
}

/** Flags as gitlab-runner (urfave/cli) takes them: `--name x`, `--name=x`, repeated ones collected. */
function parseFlags(args: string[]): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  const booleans = new Set([
    '--non-interactive',
    '--delete',
    '--all-runners',
    '--docker-disable-cache',
    '--docker-privileged',
    '--debug-trace-disabled',
    '--run-untagged',
    '--locked',
    '--paused',
  ]);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) fatal(`unexpected argument "${arg}"`);
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const key = name.startsWith('--') ? name : name === '-c' ? '--config' : name === '-n' ? '--name' : name;
    const value = inline ?? (booleans.has(key) ? 'true' : args[++i]);
    if (value === undefined) fatal(`flag ${key} needs a value`);
    flags.set(key, [...(flags.get(key) ?? []), value]);
  }
  return flags;
}

function configPath(flags: Map<string, string[]>): string {
  return flags.get('--config')?.at(-1) ?? process.env.CONFIG_FILE ?? path.join(process.env.HOME ?? '/root', '.gitlab-runner', 'config.toml');
}

function readConfig(file: string): Config {
  if (!existsSync(file)) return {};
  const text = readFileSync(file, 'utf8');
  return text.trim() === '' ? {} : (parse(text) as Config);
}

function writeConfig(file: string, config: Config): void {
  mkdirSync(path.dirname(file), { recursive: true });
  // gitlab-runner writes in place (no temp file and rename).
  writeFileSync(file, stringify(config), { mode: 0o600 });
}

function systemId(file: string): string {
  const idFile = path.join(path.dirname(file), '.runner_system_id');
  const existing = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : '';
  if (/^[sr]_[0-9A-Za-z]{12}$/.test(existing)) return existing;
  const machineId = existsSync('/etc/machine-id') ? readFileSync('/etc/machine-id', 'utf8').trim() : '';
  const id = machineId
    ? `s_${createHmac('sha256', machineId).update('gitlab-runner').digest('hex').slice(0, 12)}`
    : `r_${randomBytes(9).toString('base64url').slice(0, 12)}`;
  mkdirSync(path.dirname(idFile), { recursive: true });
  writeFileSync(idFile, `${id}\n`);
  return id;
}

function tomlTime(value: string | null | undefined): TomlDate {
  return new TomlDate(value ? new Date(value).toISOString().replace(/\.\d{3}Z$/, 'Z') : ZERO_TIME);
}

async function api(url: string, method: string, route: string, body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url.replace(/\/+$/, '')}/api/v4/${route}`, {
    method,
    headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = {};
  }
  return { status: response.status, body: parsed };
}

function record(args: string[]): void {
  const logFile = process.env.GITLAB_RUNNER_STAND_IN_LOG;
  if (!logFile) return;
  const safe = args.map((a) => (a.startsWith('glrt-') ? 'glrt-…' : a));
  appendFileSync(logFile, `${JSON.stringify({ argv: safe, tokenFromEnv: process.env.CI_SERVER_TOKEN !== undefined })}\n`);
}

function last(flags: Map<string, string[]>, name: string): string | undefined {
  return flags.get(name)?.at(-1);
}

async function register(flags: Map<string, string[]>): Promise<void> {
  const file = configPath(flags);
  const url = last(flags, '--url') ?? process.env.CI_SERVER_URL;
  const token = last(flags, '--token') ?? process.env.CI_SERVER_TOKEN;
  const name = last(flags, '--name') ?? process.env.RUNNER_NAME ?? 'runner';
  const executor = last(flags, '--executor') ?? process.env.RUNNER_EXECUTOR;
  if (!flags.has('--non-interactive')) fatal('the stand-in registers only with --non-interactive');
  if (!url) fatal('missing --url (or CI_SERVER_URL)');
  if (!token) fatal('missing --token (or CI_SERVER_TOKEN)');
  if (!executor) fatal('missing --executor');
  if (token.startsWith('glrt-')) {
    const reserved = RESERVED_FOR_AUTH_TOKENS.filter((f) => flags.has(f));
    if (reserved.length > 0) {
      fatal(
        `Runner configuration other than name and executor configuration is reserved (specifically ${reserved.join(', ')}) and cannot be specified when registering with a runner authentication token. This configuration is specified on the GitLab server.`,
      );
    }
  }
  const verified = await api(url, 'POST', 'runners/verify', { token, system_id: systemId(file) });
  if (verified.status !== 200) {
    log('error', 'Verifying runner... is not valid', { runner: token.slice(0, 8), status: verified.status });
    fatal('Failed to verify the runner.');
  }
  const entry: Entry = {
    name,
    url,
    id: Number(verified.body.id),
    token,
    token_obtained_at: tomlTime(new Date().toISOString()),
    token_expires_at: tomlTime(typeof verified.body.token_expires_at === 'string' ? verified.body.token_expires_at : null),
    executor,
  };
  const limit = Number(last(flags, '--limit') ?? 0);
  if (limit) entry.limit = limit;
  const requestConcurrency = Number(last(flags, '--request-concurrency') ?? 0);
  if (requestConcurrency) entry.request_concurrency = requestConcurrency;
  if (flags.has('--env')) entry.environment = flags.get('--env');
  for (const [flag, key] of [
    ['--pre-build-script', 'pre_build_script'],
    ['--post-build-script', 'post_build_script'],
    ['--pre-get-sources-script', 'pre_get_sources_script'],
    ['--post-get-sources-script', 'post_get_sources_script'],
    ['--builds-dir', 'builds_dir'],
    ['--clone-url', 'clone_url'],
  ] as const) {
    const value = last(flags, flag);
    if (value !== undefined) entry[key] = value;
  }
  if (executor.startsWith('docker')) {
    const image = last(flags, '--docker-image') ?? process.env.DOCKER_IMAGE;
    if (!image) fatal('missing --docker-image for the docker executor');
    const docker: Record<string, unknown> = { image };
    if (flags.has('--docker-disable-cache')) docker.disable_cache = true;
    if (flags.has('--docker-privileged')) docker.privileged = true;
    if (flags.has('--docker-pull-policy')) docker.pull_policy = flags.get('--docker-pull-policy');
    if (flags.has('--docker-volumes')) docker.volumes = flags.get('--docker-volumes');
    if (flags.has('--docker-volumes-from')) docker.volumes_from = flags.get('--docker-volumes-from');
    if (flags.has('--docker-allowed-images')) docker.allowed_images = flags.get('--docker-allowed-images');
    entry.docker = docker;
  }
  const config = readConfig(file);
  config.concurrent ??= 1;
  config.check_interval ??= 0;
  config.runners = [...(config.runners ?? []), entry];
  writeConfig(file, config);
  log('info', "Runner registered successfully. Feel free to start it, but if it's running already the config should be automatically reloaded!", {
    ConfigFile: file,
  });
}

function list(flags: Map<string, string[]>): void {
  const file = configPath(flags);
  log('info', 'Listing configured runners', { ConfigFile: file });
  for (const entry of readConfig(file).runners ?? []) {
    log('info', String(entry.name ?? ''), { Executor: entry.executor, Token: entry.token, URL: entry.url });
  }
}

async function verify(flags: Map<string, string[]>): Promise<void> {
  const file = configPath(flags);
  const config = readConfig(file);
  const only = last(flags, '--name');
  const id = systemId(file);
  const kept: Entry[] = [];
  let changed = false;
  for (const entry of config.runners ?? []) {
    if (only !== undefined && entry.name !== only) {
      kept.push(entry);
      continue;
    }
    const answer = await api(String(entry.url), 'POST', 'runners/verify', { token: entry.token, system_id: id });
    if (answer.status === 403) {
      log('error', 'Verifying runner... is removed', { runner: String(entry.token).slice(0, 8) });
      if (flags.has('--delete')) {
        changed = true;
        continue;
      }
    } else if (answer.status === 200) log('info', 'Verifying runner... is valid', { runner: String(entry.token).slice(0, 8) });
    else log('error', 'Verifying runner... failed', { status: answer.status });
    kept.push(entry);
  }
  if (changed) {
    config.runners = kept;
    writeConfig(file, config);
    log('info', 'Updated', { ConfigFile: file });
  }
}

async function unregister(flags: Map<string, string[]>): Promise<void> {
  const file = configPath(flags);
  const config = readConfig(file);
  const name = last(flags, '--name');
  const token = last(flags, '--token');
  const all = flags.has('--all-runners');
  const selected = (config.runners ?? []).filter((e) => all || (name !== undefined && e.name === name) || (token !== undefined && e.token === token));
  if (selected.length === 0) fatal(`Could not find a runner with the ${name !== undefined ? `name '${name}'` : 'token'}`);
  for (const entry of selected) {
    const route = String(entry.token).startsWith('glrt-') ? 'runners/managers' : 'runners';
    const answer = await api(String(entry.url), 'DELETE', route, { token: entry.token, system_id: systemId(file) });
    if (answer.status !== 204 && answer.status !== 403 && answer.status !== 404) fatal(`Failed to unregister runner ${String(entry.name)} (${answer.status})`);
    log('info', 'Unregistering runner from GitLab succeeded', { runner: String(entry.token).slice(0, 8) });
  }
  config.runners = (config.runners ?? []).filter((e) => !selected.includes(e));
  writeConfig(file, config);
  log('info', 'Updated', { ConfigFile: file });
}

async function resetToken(flags: Map<string, string[]>): Promise<void> {
  const file = configPath(flags);
  const config = readConfig(file);
  const name = last(flags, '--name');
  const entry = (config.runners ?? []).find((e) => e.name === name);
  if (!entry) fatal(`Could not find a runner with the name '${String(name)}'`);
  const answer = await api(String(entry.url), 'POST', 'runners/reset_authentication_token', { token: entry.token });
  if (answer.status !== 201 && answer.status !== 200) fatal(`Resetting the runner token failed (${answer.status})`);
  entry.token = String(answer.body.token);
  entry.token_obtained_at = tomlTime(new Date().toISOString());
  entry.token_expires_at = tomlTime(typeof answer.body.token_expires_at === 'string' ? answer.body.token_expires_at : null);
  writeConfig(file, config);
  log('info', 'Reset the runner token', { runner: entry.token.slice(0, 8) });
}

async function main(argv: string[]): Promise<void> {
  record(argv);
  const args = [...argv];
  while (args[0]?.startsWith('-')) {
    const flag = args.shift()!;
    if (flag === '--log-format') jsonLogs = args.shift() === 'json';
    else if (flag.startsWith('--log-format=')) jsonLogs = flag.endsWith('=json');
    else if (flag !== '--debug') fatal(`unknown global flag ${flag}`);
  }
  const command = args.shift();
  const flags = parseFlags(args);
  switch (command) {
    case 'register':
      return register(flags);
    case 'list':
      return list(flags);
    case 'verify':
      return verify(flags);
    case 'unregister':
      return unregister(flags);
    case 'reset-token':
      return resetToken(flags);
    default:
      fatal(`the stand-in does not implement "${String(command)}"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => fatal(err instanceof Error ? err.message : String(err)));
