import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { WorkerSettings } from '../../config.js';
import { PermanentJobError } from '../../errors.js';
import { redact } from '../../secrets/redact.js';
import {
  appendEntry,
  entryMatches,
  expiryFrom,
  parseRunnerConfig,
  tomlTime,
  ZERO_TIME,
  selectRunnerEntry,
  setEntryToken,
  type RunnerEntry,
  type TokenCredentials,
} from './config-toml.js';
import { normalizeGitlabUrl } from './check-install-input.js';
import { buildRunnerEntry } from './runner-template.js';
import {
  authTokenFilePath,
  findAuthTokenFile,
  findVarByValue,
  parseEnvFile,
  renderAuthTokenFile,
  runnerIdOfAuthFile,
  setEnvVar,
  slugOf,
  tokenVarFor,
} from './token-files.js';
import { readIfExists, updateFileAtomic, type AtomicUpdateOptions } from './write-file-atomic.js';

/**
 * Where a host keeps its runners' tokens, per RUNNEROPS_TOKEN_MODE, behind one interface: find a
 * runner and its current token, install a new one, write a rotated token everywhere, undo an install.
 */
export type StoreSettings = Pick<WorkerSettings, 'host' | 'tokenMode' | 'runnerConfigPath' | 'tokenDir' | 'envFile' | 'reloadCommand'> &
  Partial<Pick<WorkerSettings, 'configTemplatePath' | 'gitlabUrl'>>;

/** A runner as this host keeps it. `token` is the secret: never log or return it. */
export interface HostRunner {
  name: string;
  id?: number;
  url?: string;
  token: string;
  tokenExpiresAt?: string;
}

export interface NewRunner extends TokenCredentials {
  id: number;
  name: string;
  url: string;
  /** A runner whose token the token file holds and GitLab refuses (403): its file may be taken over. */
  replaces?: number;
}

/** Test hooks: run between writing a temp file and replacing the real one. */
export interface StoreHooks {
  beforeRename?: (file: string) => Promise<void>;
}

function atomicOptions(file: string, hooks: StoreHooks | undefined): AtomicUpdateOptions {
  return hooks?.beforeRename ? { beforeRename: () => hooks.beforeRename!(file) } : {};
}

/** The runner `selector` (name or id) names in config.toml, with its current token. */
export async function findHostRunner(settings: StoreSettings, selector: string | undefined): Promise<HostRunner> {
  const text = await readIfExists(settings.runnerConfigPath);
  if (text === undefined) throw new PermanentJobError(`${settings.runnerConfigPath} does not exist; check GITLAB_RUNNER_CONFIG on ${settings.host}`);
  const entry = selectRunnerEntry(parseRunnerConfig(text, settings.runnerConfigPath), selector, settings.host);
  return hostRunnerOf(entry, settings);
}

function hostRunnerOf(entry: RunnerEntry, settings: StoreSettings): HostRunner {
  // A new token is written back by name or id: without either it would be reset and then lost.
  if ((typeof entry.name !== 'string' || entry.name === '') && typeof entry.id !== 'number') {
    throw new PermanentJobError(
      `a [[runners]] entry in ${settings.runnerConfigPath} has neither name nor id; give it a name (or re-register it) before rotating`,
    );
  }
  if (typeof entry.token !== 'string' || entry.token === '' || entry.token.startsWith('@')) {
    throw new PermanentJobError(
      `runner "${String(entry.name)}" in ${settings.runnerConfigPath} has no token; re-register it with /runner register ${settings.host} --type ...`,
    );
  }
  const expires = expiryFrom(entry.token_expires_at);
  return {
    name: String(entry.name ?? ''),
    ...(typeof entry.id === 'number' ? { id: entry.id } : {}),
    ...(typeof entry.url === 'string' ? { url: entry.url } : {}),
    token: entry.token,
    ...(expires ? { tokenExpiresAt: expires } : {}),
  };
}

/**
 * Writes a rotated token (with token_obtained_at and token_expires_at) everywhere the host keeps it:
 * the config.toml entry in every mode, plus the runner's authenticationTokenConfigFile (nixos-module)
 * or its `TOKEN_<NAME>=` line (env-template). `oldToken` finds the token file/line. Returns the paths written.
 */
export async function writeRotatedToken(
  settings: StoreSettings,
  runner: Pick<HostRunner, 'name' | 'id'>,
  oldToken: string,
  creds: TokenCredentials,
  hooks?: StoreHooks,
): Promise<string[]> {
  const match = { ...(runner.id !== undefined ? { id: runner.id } : {}), name: runner.name };
  const configPath = settings.runnerConfigPath;
  await updateFileAtomic(configPath, (current) => setEntryToken(current, match, creds, configPath), atomicOptions(configPath, hooks));
  const written = [configPath];
  if (settings.tokenMode === 'nixos-module') {
    const file =
      (await findAuthTokenFile(settings.tokenDir, { id: runner.id, token: oldToken, name: runner.name })) ??
      (await findAuthTokenFile(settings.tokenDir, { token: creds.token }));
    if (file) {
      await updateFileAtomic(file, (current) => markRunner(setEnvVar(current, 'CI_SERVER_TOKEN', creds.token), runner), atomicOptions(file, hooks));
      written.push(file);
    }
  } else if (settings.tokenMode === 'env-template') {
    const envFile = settings.envFile;
    // The env file may hold an older token than config.toml (gitlab-runner rotated it itself): the template names the variable.
    const placeholders = await templatePlaceholders(settings);
    await updateFileAtomic(
      envFile,
      (current) =>
        setTokenVars(
          settings,
          current,
          findVarByValue(current, oldToken) ?? findVarByValue(current, creds.token) ?? placeholders.get(runner.name) ?? tokenVarFor(runner.name),
          { ...creds, id: runner.id },
        ),
      atomicOptions(envFile, hooks),
    );
    written.push(envFile);
  }
  return written;
}

/**
 * env-template mode: `TOKEN_<NAME>=`, and, when deploy/nixos renders the template
 * (RUNNEROPS_CONFIG_TEMPLATE), the lines its renderer takes the runner's id and token dates from
 * (`TOKEN_<NAME>_ID`, `_OBTAINED_AT`, `_EXPIRES_AT`; no expiry is Go's zero time), so a re-render keeps
 * them and can tell a token gitlab-runner rotated itself (obtained later) from ours.
 */
function setTokenVars(settings: StoreSettings, text: string | undefined, variable: string, creds: TokenCredentials & { id?: number }): string {
  let next = setEnvVar(text, variable, creds.token);
  if (settings.configTemplatePath === undefined) return next;
  if (creds.id !== undefined) next = setEnvVar(next, `${variable}_ID`, String(creds.id));
  next = setEnvVar(
    next,
    `${variable}_OBTAINED_AT`,
    tomlTime(creds.obtainedAt)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z'),
  );
  return setEnvVar(
    next,
    `${variable}_EXPIRES_AT`,
    creds.expiresAt === null
      ? ZERO_TIME
      : tomlTime(creds.expiresAt)
          .toISOString()
          .replace(/\.\d{3}Z$/, 'Z'),
  );
}

/**
 * env-template mode with RUNNEROPS_CONFIG_TEMPLATE: the template must have a runner whose token is
 * `@TOKEN_<NAME>@` for this name, or the token would be written where nothing renders it.
 */
async function checkTemplatePlaceholder(settings: StoreSettings, name: string): Promise<void> {
  if (settings.tokenMode !== 'env-template' || settings.configTemplatePath === undefined) return;
  const runners = await readTemplateRunners(settings, settings.configTemplatePath);
  const placeholders = runners.map((r) => r.token).filter((t): t is string => typeof t === 'string' && PLACEHOLDER.test(t));
  const wanted = `@${tokenVarFor(name)}@`;
  if (placeholders.includes(wanted)) {
    const url = runners.find((r) => r.token === wanted)?.url;
    if (settings.gitlabUrl !== undefined && (typeof url !== 'string' || normalizeGitlabUrl(url) !== normalizeGitlabUrl(settings.gitlabUrl))) {
      throw new PermanentJobError(
        `the config.toml template's runner with token = "${wanted}" has url ${String(url)}, not this worker's GITLAB_URL (${settings.gitlabUrl}); fix its url in services.runnerops.worker.configTemplate`,
      );
    }
    return;
  }
  const have = placeholders.length > 0 ? `it has ${placeholders.join(', ')}` : 'it has no placeholder at all';
  throw new PermanentJobError(
    `the config.toml template on ${settings.host} has no runner with token = "${wanted}" (${have}); add a runner with that token to services.runnerops.worker.configTemplate, switch, then register again (or register with the --description of an existing placeholder)`,
  );
}

const PLACEHOLDER = /^@([A-Za-z_][A-Za-z0-9_]*)@$/;

async function readTemplateRunners(settings: StoreSettings, file: string): Promise<Array<{ name?: unknown; token?: unknown; url?: unknown }>> {
  const text = await readIfExists(file);
  if (text === undefined)
    throw new PermanentJobError(
      `the config.toml template ${file} (RUNNEROPS_CONFIG_TEMPLATE) does not exist on ${settings.host}; switch to the NixOS configuration that names it`,
    );
  try {
    return (JSON.parse(text) as { runners?: Array<{ name?: unknown; token?: unknown; url?: unknown }> }).runners ?? [];
  } catch {
    throw new PermanentJobError(`the config.toml template ${file} is not JSON; set RUNNEROPS_CONFIG_TEMPLATE to the file deploy/nixos renders`);
  }
}

/** Runner name -> the env variable its template entry's `@VAR@` token names (empty without a template). */
async function templatePlaceholders(settings: StoreSettings): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  if (settings.configTemplatePath === undefined) return map;
  for (const r of await readTemplateRunners(settings, settings.configTemplatePath)) {
    const m = typeof r.token === 'string' ? PLACEHOLDER.exec(r.token) : null;
    if (m?.[1] !== undefined && typeof r.name === 'string') map.set(r.name, m[1]);
  }
  return map;
}

/** One file an install changes, and how. */
interface InstallWrite {
  file: string;
  transform: (current: string | undefined) => string;
}

/** What an install writes in this mode: the config.toml entry, the token file or the `TOKEN_<NAME>=` line. */
function installWrites(settings: StoreSettings, runner: NewRunner, template: RunnerEntry): InstallWrite {
  switch (settings.tokenMode) {
    case 'config-toml': {
      const file = settings.runnerConfigPath;
      return {
        file,
        transform: (current) => {
          const existing = parseRunnerConfig(current, file).runners?.find((e) => entryMatches(e, { id: runner.id }));
          return existing ? setEntryToken(current, { id: runner.id }, runner, file) : appendEntry(current, buildRunnerEntry(template, runner), file);
        },
      };
    }
    case 'nixos-module': {
      const file = authTokenFilePath(settings.tokenDir, runner.name);
      return {
        file,
        transform: (current) => {
          const owner = runnerIdOfAuthFile(current);
          if (owner !== undefined && owner !== runner.id && owner !== runner.replaces) {
            throw new PermanentJobError(
              `${file} already holds the working token of runner #${owner}; pick another --description, or delete runner #${owner} in GitLab first to replace it`,
            );
          }
          return renderAuthTokenFile(runner);
        },
      };
    }
    case 'env-template': {
      const file = settings.envFile;
      return { file, transform: (current) => setTokenVars(settings, current, tokenVarFor(runner.name), runner) };
    }
  }
}

/**
 * Puts a newly created runner where the host keeps tokens: a `[[runners]]` entry built from `template`
 * (config-toml), the runner's authenticationTokenConfigFile (nixos-module) or a `TOKEN_<NAME>=` line
 * (env-template). Running it again for the same runner id rewrites instead of duplicating. Returns the paths written.
 */
export async function installRunnerToken(settings: StoreSettings, runner: NewRunner, template: RunnerEntry, hooks?: StoreHooks): Promise<string[]> {
  const { file, transform } = installWrites(settings, runner, template);
  // The token dir and the env file's directory may not exist yet; config.toml's is gitlab-runner's own.
  if (settings.tokenMode !== 'config-toml') await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await updateFileAtomic(file, transform, atomicOptions(file, hooks));
  return [file];
}

/**
 * nixos-module mode: the runner a declared runner's token file holds, as `{ id, token }`, when it is
 * another runner than `runnerId` (a re-registration of the declared name). Undefined otherwise.
 */
export async function heldToken(settings: StoreSettings, name: string, runnerId: number): Promise<{ id: number; token: string } | undefined> {
  if (settings.tokenMode !== 'nixos-module') return undefined;
  const text = await readIfExists(authTokenFilePath(settings.tokenDir, name));
  const id = runnerIdOfAuthFile(text);
  const token = parseEnvFile(text).get('CI_SERVER_TOKEN');
  return id !== undefined && id !== runnerId && token !== undefined ? { id, token } : undefined;
}

/**
 * Everything installRunnerToken would refuse, found without writing: the runner is declared where the
 * mode needs it (checkDeclared), its name or token file is free, every value is safe to source.
 */
export async function checkInstallable(settings: StoreSettings, runner: NewRunner, template: RunnerEntry): Promise<void> {
  await checkDeclared(settings, runner.name);
  await checkTemplatePlaceholder(settings, runner.name);
  const { file, transform } = installWrites(settings, runner, template);
  transform(await readIfExists(file));
}

/** Every file an install may change in this mode (config.toml always: the reload rewrites it). */
export function filesOfInstall(settings: StoreSettings, name: string): string[] {
  switch (settings.tokenMode) {
    case 'config-toml':
      return [settings.runnerConfigPath];
    case 'nixos-module':
      return [authTokenFilePath(settings.tokenDir, name), settings.runnerConfigPath];
    case 'env-template':
      return [settings.envFile, settings.runnerConfigPath];
  }
}

/**
 * nixos-module mode: nixpkgs' configure script reads only the token files that
 * services.gitlab-runner.services names, and runnerops' module creates each declared runner's file
 * (a placeholder until it is registered). A runner without its file is not declared: refused before
 * anything is written.
 */
async function checkDeclared(settings: StoreSettings, name: string): Promise<void> {
  if (settings.tokenMode !== 'nixos-module') return;
  const file = authTokenFilePath(settings.tokenDir, name);
  if ((await readIfExists(file)) !== undefined) return;
  const slug = slugOf(name);
  throw new PermanentJobError(
    `runner "${name}" is not declared on ${settings.host} (no ${file}); nixpkgs' gitlab-runner reads only declared token files: add services.runnerops.worker.runners.${slug} = { dockerImage = "..."; } to its NixOS configuration, switch, then register with --description ${slug}`,
  );
}

/**
 * After the reload: gitlab-runner's config.toml must carry the new token (nixpkgs' configure script
 * registered it from the token file, or the template was rendered with it). Otherwise the token was
 * written where nothing reads it, and the install fails instead of reporting a runner that never runs.
 */
export async function confirmRunnerLoaded(settings: StoreSettings, runner: Pick<NewRunner, 'id' | 'name' | 'token'>): Promise<void> {
  const config = parseRunnerConfig(await readIfExists(settings.runnerConfigPath), settings.runnerConfigPath);
  if ((config.runners ?? []).some((e) => e.token === runner.token)) return;
  const where =
    settings.tokenMode === 'env-template'
      ? `no @${tokenVarFor(runner.name)}@ placeholder in the config.toml template takes ${tokenVarFor(runner.name)} from ${settings.envFile}; add the runner to the template (services.runnerops.worker.templateRunners.${slugOf(runner.name)}) and switch, then register again`
      : `check that ${authTokenFilePath(settings.tokenDir, runner.name)} is the authenticationTokenConfigFile of a services.gitlab-runner.services entry (services.runnerops.worker.runners.${slugOf(runner.name)}) and see journalctl -u gitlab-runner`;
  throw new PermanentJobError(
    `gitlab-runner did not take the token of runner #${runner.id}: after "${settings.reloadCommand}" ${settings.runnerConfigPath} has no runner with it; ${where}`,
  );
}

/**
 * Runs the reload command (`sh -c`, default `systemctl reload gitlab-runner`) so gitlab-runner picks
 * up token files; a failure is a PermanentJobError with its exit code and first line of stderr.
 */
export function reloadRunner(settings: Pick<StoreSettings, 'reloadCommand'>, timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', settings.reloadCommand], { timeout: timeoutMs }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const line = redact(String(stderr).trim().split('\n')[0] ?? '').slice(0, 200);
      const code = (err as NodeJS.ErrnoException & { code?: unknown }).code;
      reject(
        new PermanentJobError(
          `the reload command "${settings.reloadCommand}" failed (${err.killed ? 'timed out' : `exit ${String(code)}`})${line ? `: ${line}` : ''}; check RUNNEROPS_RELOAD_COMMAND and the gitlab-runner service`,
        ),
      );
    });
  });
}

/** Whether this mode needs the reload command after token files change. */
export function needsReload(settings: Pick<StoreSettings, 'tokenMode'>): boolean {
  return settings.tokenMode !== 'config-toml';
}

/** Adds the runnerops comment naming the runner id to a token file that lacks it (so drift can be fixed later). */
function markRunner(text: string, runner: Pick<HostRunner, 'id' | 'name'>): string {
  if (runner.id === undefined || runnerIdOfAuthFile(text) !== undefined) return text;
  return `# runnerops: runner #${runner.id} "${runner.name.replace(/["\n]/g, '')}" (authenticationTokenConfigFile)\n${text}`;
}

/**
 * nixos-module mode: gitlab-runner rotates an expiring token itself and saves it only in config.toml,
 * so the authenticationTokenConfigFile goes stale (and a later re-registration from it would fail).
 * Copies config.toml's token into every token file that names the runner id and holds another token.
 * Returns the files fixed; a no-op in the other modes.
 */
export async function syncTokenFiles(settings: StoreSettings): Promise<string[]> {
  if (settings.tokenMode !== 'nixos-module') return [];
  const config = parseRunnerConfig(await readIfExists(settings.runnerConfigPath), settings.runnerConfigPath);
  const tokens = new Map<number, string>();
  for (const entry of config.runners ?? []) {
    if (typeof entry.id === 'number' && typeof entry.token === 'string' && entry.token.startsWith('glrt-')) tokens.set(entry.id, entry.token);
  }
  let names: string[];
  try {
    names = (await readdir(settings.tokenDir)).filter((n) => n.endsWith('.env'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const fixed: string[] = [];
  for (const name of names.sort()) {
    const file = path.join(settings.tokenDir, name);
    const text = await readIfExists(file);
    const id = runnerIdOfAuthFile(text);
    const current = id === undefined ? undefined : tokens.get(id);
    if (current === undefined || parseEnvFile(text).get('CI_SERVER_TOKEN') === current) continue;
    await updateFileAtomic(file, (latest) => setEnvVar(latest, 'CI_SERVER_TOKEN', current));
    fixed.push(file);
  }
  return fixed;
}
