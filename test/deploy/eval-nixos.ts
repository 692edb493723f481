import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './config-env.js';

export interface ServiceConfig {
  description: string;
  wantedBy: string[];
  wants: string[];
  after: string[];
  requires: string[];
  path: string[];
  environment: Record<string, string>;
  serviceConfig: Record<string, string | number | boolean | string[]>;
  unitConfig: Record<string, string>;
  reloadIfChanged: boolean;
}

/** One service of an evaluation; a failure names the services there are when it is missing. */
export function serviceOf(services: Record<string, ServiceConfig>, name: string): ServiceConfig {
  const found = services[name];
  if (found === undefined) throw new Error(`the evaluation has no service ${name}; it has ${Object.keys(services).join(', ') || 'none'}`);
  return found;
}

/** The variable naming the nixos-eval folder (nixpkgs' lib and gitlab-runner module, see its README). */
export const NIXOS_EVAL_VARIABLE = 'RUNNEROPS_NIXOS_EVAL';

/**
 * The nixos-eval folder: $RUNNEROPS_NIXOS_EVAL, else ../shared/nixos-eval next to the repository.
 * Without either, one line says how to provide it.
 */
export function findNixosEval(env: Record<string, string | undefined> = process.env): string {
  const candidates = env[NIXOS_EVAL_VARIABLE] ? [path.resolve(env[NIXOS_EVAL_VARIABLE])] : [path.resolve(repoRoot, '../shared/nixos-eval')];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'nixpkgs/lib/default.nix')) && existsSync(path.join(dir, 'nixos-lite.nix')));
  if (!found) {
    throw new Error(
      `no nixos-eval folder at ${candidates[0]}: set ${NIXOS_EVAL_VARIABLE} to a folder with nixos-lite.nix, pkgs.nix and nixpkgs/ (lib/ and nixos/modules/services/continuous-integration/gitlab-runner/runner.nix of a nixpkgs checkout)`,
    );
  }
  return found;
}

export interface OptionSummary {
  type: string;
  description: string | null;
  hasDefault: boolean;
}

/** What test/deploy/nix/eval.nix returns for one configuration. */
export interface NixosEvaluation {
  /** runnerops-* and gitlab-runner* services. */
  services: Record<string, ServiceConfig>;
  /** services.gitlab-runner.services as evaluated (token file and image of each). */
  gitlabRunnerServices: Record<string, { authenticationTokenConfigFile: string | null; dockerImage: string | null }>;
  checks: string[];
  /** services.runnerops.worker.configTemplate (env-template mode), or null. */
  configTemplate: unknown;
  units: Record<string, string>;
  tmpfiles: string[];
  warnings: string[];
  secretVariables: { bot: string[]; worker: string[] };
  options: { bot: Record<string, OptionSummary>; worker: Record<string, OptionSummary>; packageType: string; packageDefaultText: string | null };
  package: {
    pname: string;
    version: string;
    npmDepsHash: string | null;
    npmDeps: { packageName: string; packages: Record<string, { resolved: string | null; integrity: string | null }> } | null;
    hasNpmConfigHook: boolean;
    npmBuildScript: string;
    mainProgram: string;
    sameAsOverlay: boolean;
    src: { root: string; files: string[] };
  };
}

/** A directory standing in for the built package: bin/runnerops exists, so systemd-analyze accepts ExecStart. */
export function makePackageDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runnerops-pkg-'));
  mkdirSync(path.join(dir, 'bin'));
  writeFileSync(path.join(dir, 'bin/runnerops'), '#!/bin/sh\nexit 0\n');
  chmodSync(path.join(dir, 'bin/runnerops'), 0o755);
  return dir;
}

export interface EvalOptions {
  packagePath?: string;
  example?: boolean;
  /** Print nixpkgs' generated scripts (gitlab-runner-configure) on stderr; evalNixos returns them. */
  traceScripts?: boolean;
}

/** Scripts printed by `--arg traceScripts true` (`trace: === script <name>` then its text), by name. */
export function tracedScripts(stderr: string): Record<string, string> {
  const scripts: Record<string, string> = {};
  for (const part of stderr.split(/^trace: /m)) {
    const m = /^=== script ([^\n]+)\n([\s\S]*)$/.exec(part);
    if (m?.[1] !== undefined && m[2] !== undefined) scripts[m[1]] = m[2];
  }
  return scripts;
}

/**
 * Evaluates the flake's NixOS module for `configuration` (a Nix module expression, or a path to one)
 * with Debian's nix-instantiate, nixpkgs' real lib and its gitlab-runner module. Returns the evaluation
 * and the traced scripts, or the error text when Nix refused it.
 */
export function evalNixos(
  configuration: string,
  options: EvalOptions = {},
): { ok: true; value: NixosEvaluation; scripts: Record<string, string>; stderr: string } | { ok: false; error: string } {
  const args = ['--eval', '--strict', '--json', path.join(repoRoot, 'test/deploy/nix/eval.nix')];
  args.push('--argstr', 'nixosEval', findNixosEval());
  args.push('--arg', 'configuration', configuration);
  args.push('--argstr', 'packagePath', options.packagePath ?? '/nonexistent/runnerops');
  if (options.example) args.push('--arg', 'example', 'true');
  if (options.traceScripts) args.push('--arg', 'traceScripts', 'true');
  const run = spawnSync('nix-instantiate', args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw run.error;
  if (run.status !== 0) return { ok: false, error: run.stderr };
  return { ok: true, value: JSON.parse(run.stdout) as NixosEvaluation, scripts: tracedScripts(run.stderr), stderr: run.stderr };
}

/** Like evalNixos, but a refusal fails the test with Nix's message. */
export function mustEvalNixos(configuration: string, options: EvalOptions = {}): NixosEvaluation {
  const result = evalNixos(configuration, options);
  if (!result.ok) throw new Error(`nix-instantiate refused the configuration:\n${result.error}`);
  return result.value;
}

/** A host configuration of deploy/nixos/checks/ (the ones the flake's checks build), as a Nix path. */
export function checksHost(name: string): string {
  return path.join(repoRoot, 'deploy/nixos/checks', `${name}.nix`);
}

/** Runs `systemd-analyze verify` on unit files; its warnings (unknown keys, bad values) count as failures. */
export function verifyUnits(units: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runnerops-units-'));
  const files = Object.entries(units).map(([name, text]) => {
    const file = path.join(dir, name.endsWith('.service') ? name : `${name}.service`);
    writeFileSync(file, text);
    return file;
  });
  const run = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8', timeout: 60_000 });
  rmSync(dir, { recursive: true, force: true });
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}
