import { execFile, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readWorkerSettings, type WorkerSettings } from '../../../src/config.js';
import { TEST_BOT_KEYS } from '../../helpers/test-trust.js';
import { repoRoot } from '../config-env.js';
import { checksHost, evalNixos, serviceOf, type NixosEvaluation } from '../eval-nixos.js';

/** The stand-ins for gitlab-runner, remarshal and sponge (test/stand-ins/bin), first on PATH. */
export const standInBin = path.join(repoRoot, 'test/stand-ins/bin');

/**
 * A NixOS runner host on a temp root: one of deploy/nixos/checks/ evaluated with nixpkgs' real
 * gitlab-runner module (its token dir and state dir moved under the root), the configure script
 * nixpkgs generated for it (the unit's ExecStartPre and ExecReload) written as writeShellApplication
 * writes it, and the worker's settings for that host.
 */
export interface NixosHost {
  root: string;
  /** gitlab-runner's HOME (/var/lib/gitlab-runner on NixOS). */
  home: string;
  evaluation: NixosEvaluation;
  /** gitlab-runner.service's ExecStartPre/ExecReload script (nixpkgs' gitlab-runner-configure, or runnerops' renderer), as an executable file. */
  configureScript: string;
  /**
   * Runs the configure script as systemd would (ExecStartPre / ExecReload): exit status and output.
   * Asynchronous, so the fake GitLab in this process can answer the stand-in's calls.
   */
  configure: () => Promise<{ status: number | null; output: string }>;
  /** What systemd-tmpfiles does at boot and on `nixos-rebuild switch`, for this host's rules. */
  tmpfiles: () => void;
  /** A reload command (RUNNEROPS_RELOAD_COMMAND) that runs the configure script. */
  reloadCommand: string;
  settings: WorkerSettings;
  /** The log of stand-in gitlab-runner calls (argv per line, tokens masked). */
  standInLog: string;
}

/** The script gitlab-runner.service runs as ExecStartPre and ExecReload in each host configuration. */
const CONFIGURE_SCRIPTS: Record<string, string> = {
  'nixos-module': 'gitlab-runner-configure',
  'env-template': 'runnerops-render-gitlab-runner-config',
};

export async function createNixosHost(options: {
  check: string;
  gitlabUrl: string;
  redis: { redisUrl: string; prefix: string };
  extra?: string;
}): Promise<NixosHost> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'runnerops-nixos-'));
  await chmod(root, 0o755);
  const home = path.join(root, 'var/lib/gitlab-runner');
  const tokenDir = path.join(root, 'var/lib/runnerops/tokens');
  const stateDir = path.join(root, 'var/lib/runnerops');
  await mkdir(home, { recursive: true });
  const force = (value: string) => `lib.mkForce "${value}"`;
  const envFile = path.join(stateDir, 'gitlab-runner.env');
  const worker = `tokenDir = ${force(tokenDir)}; stateDir = ${force(stateDir)}; envFile = ${force(envFile)}; runnerConfig = ${force(`${home}/.gitlab-runner/config.toml`)}; gitlabUrl = ${force(options.gitlabUrl)};`;
  const configuration = `{ lib, ... }: { imports = [ ${checksHost(options.check)} ]; services.runnerops.worker = { ${worker} }; ${options.extra ?? ''} }`;
  const result = evalNixos(configuration, { traceScripts: true });
  if (!result.ok) throw new Error(`nix-instantiate refused ${options.check}:\n${result.error}`);
  const scriptName = CONFIGURE_SCRIPTS[options.check] ?? 'gitlab-runner-configure';
  let text = result.scripts[scriptName];
  if (text === undefined) throw new Error(`evaluating ${options.check} printed no ${scriptName} script`);
  // The store path of the rendered template exists only on a built system: put the file on the temp root.
  const templateFile = path.join(root, 'gitlab-runner-template.json');
  if (result.value.configTemplate !== null) {
    // The host configuration names a GitLab by URL; here the runners talk to the fake one.
    await writeFile(templateFile, JSON.stringify(result.value.configTemplate).replaceAll('https://gitlab.example.com', options.gitlabUrl));
    text = text.replace(/\/nix\/store\/[a-z0-9]{32}-gitlab-runner-template\.json/g, templateFile);
  }
  const configureScript = path.join(root, 'gitlab-runner-configure');
  // writeShellApplication's header (bashOptions errexit, nounset, pipefail), then the text.
  await writeFile(configureScript, `#!/usr/bin/env bash\nset -o errexit\nset -o nounset\nset -o pipefail\n${text}`, { mode: 0o755 });
  const standInLog = path.join(root, 'gitlab-runner-calls.jsonl');
  const env = { ...process.env, HOME: home, PATH: `${standInBin}:${process.env.PATH ?? ''}`, GITLAB_RUNNER_STAND_IN_LOG: standInLog };
  const reloadCommand = path.join(root, 'systemctl-reload-or-restart-gitlab-runner');
  await writeFile(
    reloadCommand,
    `#!/bin/sh\nexport HOME='${home}' PATH='${standInBin}':"$PATH" GITLAB_RUNNER_STAND_IN_LOG='${standInLog}'\nexec '${configureScript}' >/dev/null\n`,
    { mode: 0o755 },
  );
  const rules = path.join(root, 'tmpfiles.conf');
  await writeFile(rules, `${result.value.tmpfiles.join('\n')}\n`);
  const workerEnv = serviceOf(result.value.services, 'runnerops-worker').environment;
  const settings = readWorkerSettings({
    ...workerEnv,
    ...(workerEnv.RUNNEROPS_CONFIG_TEMPLATE ? { RUNNEROPS_CONFIG_TEMPLATE: templateFile } : {}),
    REDIS_URL: options.redis.redisUrl,
    RUNNEROPS_PREFIX: options.redis.prefix,
    RUNNEROPS_RELOAD_COMMAND: reloadCommand,
    // The bot's keys come from the host's secrets (botKeys / an environmentFile); here the tests' own.
    RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS,
  });
  return {
    root,
    home,
    evaluation: result.value,
    configureScript,
    configure: () =>
      new Promise((resolve) => {
        execFile(configureScript, [], { env, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
          const status = err === null ? 0 : typeof (err as NodeJS.ErrnoException).code === 'number' ? (err as unknown as { code: number }).code : null;
          resolve({ status, output: `${stdout}${stderr}` });
        });
      }),
    tmpfiles: () => {
      const run = spawnSync('systemd-tmpfiles', ['--create', rules], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`systemd-tmpfiles failed: ${run.stderr}`);
    },
    reloadCommand,
    settings,
    standInLog,
  };
}
