import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './config-env.js';

export interface ServiceConfig {
  description: string;
  wantedBy: string[];
  wants: string[];
  after: string[];
  path: string[];
  environment: Record<string, string>;
  serviceConfig: Record<string, string | number | boolean | string[]>;
}

export interface OptionSummary {
  type: string;
  description: string | null;
  hasDefault: boolean;
}

/** What test/deploy/nix/eval.nix returns for one configuration. */
export interface NixosEvaluation {
  services: Record<string, ServiceConfig>;
  units: Record<string, string>;
  tmpfiles: string[];
  warnings: string[];
  secretVariables: { bot: string[]; worker: string[] };
  options: { bot: Record<string, OptionSummary>; worker: Record<string, OptionSummary> };
  package: {
    pname: string;
    version: string;
    npmDepsHash: string;
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

/**
 * Evaluates the flake's NixOS module for `configuration` (a Nix module expression) with Debian's
 * nix-instantiate. Returns the evaluation, or the error text when Nix refused it.
 */
export function evalNixos(
  configuration: string,
  options: { packagePath?: string; example?: boolean } = {},
): { ok: true; value: NixosEvaluation } | { ok: false; error: string } {
  const args = ['--eval', '--strict', '--json', path.join(repoRoot, 'test/deploy/nix/eval.nix')];
  args.push('--arg', 'configuration', configuration);
  args.push('--argstr', 'packagePath', options.packagePath ?? '/nonexistent/runnerops');
  if (options.example) args.push('--arg', 'example', 'true');
  const run = spawnSync('nix-instantiate', args, { encoding: 'utf8', timeout: 60_000 });
  if (run.error) throw run.error;
  if (run.status !== 0) return { ok: false, error: run.stderr };
  return { ok: true, value: JSON.parse(run.stdout) as NixosEvaluation };
}

/** Like evalNixos, but a refusal fails the test with Nix's message. */
export function mustEvalNixos(configuration: string, options: { packagePath?: string; example?: boolean } = {}): NixosEvaluation {
  const result = evalNixos(configuration, options);
  if (!result.ok) throw new Error(`nix-instantiate refused the configuration:\n${result.error}`);
  return result.value;
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
