import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { looksSecret, readConfigEnv, repoRoot } from './config-env.js';
import { checksHost, evalNixos, makePackageDir, mustEvalNixos, serviceOf, verifyUnits } from './eval-nixos.js';

const env = readConfigEnv();
const packagePath = makePackageDir();

/** Every option set to a value unlike its default, so each variable shows up with a known value. */
const FULL = `{
  services.gitlab-runner.enable = true;
  virtualisation.docker.enable = true;
  services.runnerops.bot = {
    enable = true;
    redisUrl = "redis://redis.internal:6379/1";
    prefix = "{ops}";
    logLevel = "debug";
    metricsPort = 9465;
    port = 3100;
    slackApiUrl = "http://127.0.0.1:9999/api/";
    gitlabUrl = "https://gitlab.example.com";
    policyFile = "/etc/runnerops/policy.yml";
    auditFile = "/var/log/runnerops/audit.jsonl";
    retention = "30d";
    signingKeyFile = "/run/agenix/bot-signing-key";
    previousBotKeys = [ "ed25519:old" ];
    enrolledHosts = { ci-3 = "SHA256:${'a'.repeat(43)}"; };
    apiSocket = "/run/runnerops/ops.sock";
    environmentFile = "/run/secrets/runnerops-bot.env";
  };
  services.runnerops.worker = {
    enable = true;
    redisUrl = "redis://redis.internal:6379/1";
    prefix = "{ops}";
    logLevel = "warn";
    metricsPort = 9464;
    host = "ci-3";
    labels = { rack = "b"; gpu = "no"; };
    heartbeatSeconds = 7;
    stateDir = "/var/lib/runnerops-ci";
    dockerHost = "unix:///run/docker.sock";
    gitlabUrl = "https://gitlab.example.com";
    runnerConfig = "/var/lib/gitlab-runner/.gitlab-runner/config.toml";
    tokenMode = "nixos-module";
    tokenDir = "/etc/gitlab-runner-tokens";
    envFile = "/run/secrets/gitlab-runner.env";
    reloadCommand = "systemctl reload gitlab-runner.service";
    nixDaemonContainer = "nixd";
    nixStateDir = "/srv/nix/var/nix";
    nixStoreDir = "/srv/nix/store";
    botKeys = [ "ed25519:new" "ed25519:old" ];
    protectLabel = "site.keep=yes";
    pruneNamedVolumes = true;
    watch = true;
    watchMinFreePercent = 15;
    watchTargetFreePercent = 30;
    environmentFile = "/run/secrets/runnerops-worker.env";
  };
}`;

const full = mustEvalNixos(FULL, { packagePath });
const bot = serviceOf(full.services, 'runnerops-bot');
const worker = serviceOf(full.services, 'runnerops-worker');

function withWorker(extra: string): string {
  return `{ services.runnerops.worker = { enable = true; } // ${extra}; }`;
}

describe('src/config.ts variables', () => {
  it('are found in the source for both processes', () => {
    expect(env.common).toEqual(expect.arrayContaining(['REDIS_URL', 'RUNNEROPS_PREFIX', 'LOG_LEVEL']));
    expect(env.worker).toEqual(expect.arrayContaining(['RUNNEROPS_TOKEN_MODE', 'GITLAB_RUNNER_CONFIG', ...env.common]));
    expect(env.bot).toEqual(expect.arrayContaining(['SLACK_BOT_TOKEN', 'GITLAB_TOKEN', ...env.common]));
  });
});

describe('deploy/nixos/module.nix', () => {
  it('covers every worker variable of src/config.ts with an option, and only those', () => {
    const envTemplate = serviceOf(mustEvalNixos(checksHost('env-template')).services, 'runnerops-worker').environment;
    const fromOptions = [...new Set([...Object.keys(worker.environment), ...Object.keys(envTemplate)])].sort();
    expect([...fromOptions, ...full.secretVariables.worker].sort()).toEqual(env.worker);
    expect(fromOptions.filter((name) => full.secretVariables.worker.includes(name))).toEqual([]);
  });

  it('covers every bot variable of src/config.ts, the secrets only through environmentFile', () => {
    const fromOptions = Object.keys(bot.environment).sort();
    expect([...fromOptions, ...full.secretVariables.bot].sort()).toEqual(env.bot);
    expect(fromOptions.filter(looksSecret)).toEqual([]);
    expect(env.bot.filter(looksSecret).sort()).toEqual([...full.secretVariables.bot].sort());
  });

  it('names its variable at the start of each setting option description', () => {
    for (const [process, options, names] of [
      ['bot', full.options.bot, env.bot],
      ['worker', full.options.worker, env.worker],
    ] as const) {
      const documented = Object.entries(options)
        .filter(([name]) => !['enable', 'environmentFile', 'extraEnvironment', 'runners', 'configTemplateSetup'].includes(name))
        .map(([name, o]) => [name, /^([A-Z][A-Z0-9_]+):/.exec(o.description ?? '')?.[1]] as const);
      const missing = documented.filter(([, variable]) => variable === undefined || !names.includes(variable));
      expect(missing, `${process} options without a src/config.ts variable in their description`).toEqual([]);
      expect(new Set(documented.map(([, v]) => v)).size).toBe(documented.length);
    }
  });

  it('maps each worker option to its variable and value', () => {
    expect(worker.environment).toEqual({
      REDIS_URL: 'redis://redis.internal:6379/1',
      RUNNEROPS_PREFIX: '{ops}',
      LOG_LEVEL: 'warn',
      RUNNEROPS_METRICS_PORT: '9464',
      RUNNEROPS_HOST: 'ci-3',
      RUNNEROPS_LABELS: 'gpu=no,rack=b',
      RUNNEROPS_HEARTBEAT_SECONDS: '7',
      RUNNEROPS_STATE_DIR: '/var/lib/runnerops-ci',
      DOCKER_HOST: 'unix:///run/docker.sock',
      GITLAB_URL: 'https://gitlab.example.com',
      GITLAB_RUNNER_CONFIG: '/var/lib/gitlab-runner/.gitlab-runner/config.toml',
      RUNNEROPS_TOKEN_MODE: 'nixos-module',
      RUNNEROPS_TOKEN_DIR: '/etc/gitlab-runner-tokens',
      RUNNEROPS_ENV_FILE: '/run/secrets/gitlab-runner.env',
      RUNNEROPS_RELOAD_COMMAND: 'systemctl reload gitlab-runner.service',
      NIX_DAEMON_CONTAINER: 'nixd',
      NIX_STATE_DIR: '/srv/nix/var/nix',
      NIX_STORE_DIR: '/srv/nix/store',
      RUNNEROPS_BOT_KEYS: 'ed25519:new,ed25519:old',
      RUNNEROPS_PROTECT_LABEL: 'site.keep=yes',
      RUNNEROPS_PRUNE_NAMED_VOLUMES: 'true',
      RUNNEROPS_WATCH: 'on',
      RUNNEROPS_WATCH_MIN_FREE_PERCENT: '15',
      RUNNEROPS_WATCH_TARGET_FREE_PERCENT: '30',
    });
  });

  it('maps each bot option to its variable and value', () => {
    expect(bot.environment).toEqual({
      REDIS_URL: 'redis://redis.internal:6379/1',
      RUNNEROPS_PREFIX: '{ops}',
      LOG_LEVEL: 'debug',
      RUNNEROPS_METRICS_PORT: '9465',
      PORT: '3100',
      SLACK_API_URL: 'http://127.0.0.1:9999/api/',
      GITLAB_URL: 'https://gitlab.example.com',
      RUNNEROPS_POLICY: '/etc/runnerops/policy.yml',
      RUNNEROPS_AUDIT_FILE: '/var/log/runnerops/audit.jsonl',
      RUNNEROPS_RETENTION: '30d',
      RUNNEROPS_SIGNING_KEY: '%d/bot-signing-key',
      RUNNEROPS_BOT_KEYS: 'ed25519:old',
      RUNNEROPS_ENROLLED_HOSTS: `ci-3=SHA256:${'a'.repeat(43)}`,
      RUNNEROPS_API_SOCKET: '/run/runnerops/ops.sock',
    });
    expect(bot.serviceConfig.LoadCredential).toBe('bot-signing-key:/run/agenix/bot-signing-key');
  });

  it('leaves unset what has no value, so src/config.ts applies its defaults', () => {
    const { services } = mustEvalNixos('{ services.runnerops.bot.enable = true; services.runnerops.worker.enable = true; }');
    expect(Object.keys(serviceOf(services, 'runnerops-bot').environment).sort()).toEqual([
      'LOG_LEVEL',
      'PORT',
      'REDIS_URL',
      'RUNNEROPS_API_SOCKET',
      'RUNNEROPS_METRICS_PORT',
      'RUNNEROPS_PREFIX',
    ]);
    expect(serviceOf(services, 'runnerops-worker').environment).not.toHaveProperty('DOCKER_HOST');
    expect(serviceOf(services, 'runnerops-worker').environment).not.toHaveProperty('RUNNEROPS_LABELS');
    expect(serviceOf(services, 'runnerops-worker').environment.RUNNEROPS_HOST).toBe('nixos');
    expect(serviceOf(services, 'runnerops-worker').environment.RUNNEROPS_TOKEN_MODE).toBe('config-toml');
  });

  it('starts both processes from the package with secrets from their environmentFile', () => {
    expect(bot.serviceConfig.ExecStart).toBe(`${packagePath}/bin/runnerops bot`);
    expect(worker.serviceConfig.ExecStart).toBe(`${packagePath}/bin/runnerops worker`);
    expect(bot.serviceConfig.EnvironmentFile).toBe('/run/secrets/runnerops-bot.env');
    expect(worker.serviceConfig.EnvironmentFile).toBe('/run/secrets/runnerops-worker.env');
    expect(bot.wantedBy).toEqual(['multi-user.target']);
    expect(worker.wantedBy).toEqual(['multi-user.target']);
  });

  it('hardens both units the same way and restarts them on failure', () => {
    for (const svc of [bot, worker]) {
      expect(svc.serviceConfig).toMatchObject({
        NoNewPrivileges: true,
        ProtectSystem: 'strict',
        ProtectHome: true,
        PrivateTmp: true,
        PrivateDevices: true,
        ProtectKernelTunables: true,
        ProtectKernelModules: true,
        ProtectControlGroups: true,
        RestrictSUIDSGID: true,
        RestrictNamespaces: true,
        LockPersonality: true,
        SystemCallArchitectures: 'native',
        RestrictAddressFamilies: ['AF_UNIX', 'AF_INET', 'AF_INET6'],
        UMask: '0077',
        Restart: 'on-failure',
      });
      expect(svc.serviceConfig).not.toHaveProperty('MemoryDenyWriteExecute');
    }
  });

  it('runs the bot as a dynamic user without capabilities and with the audit file in its LogsDirectory', () => {
    expect(bot.serviceConfig).toMatchObject({
      DynamicUser: true,
      CapabilityBoundingSet: '',
      PrivateUsers: true,
      SystemCallFilter: ['@system-service', '~@privileged'],
      LogsDirectory: 'runnerops',
    });
    expect(bot.serviceConfig).not.toHaveProperty('AmbientCapabilities');
    expect(bot.serviceConfig).not.toHaveProperty('ReadWritePaths');
  });

  it('gives the bot CAP_NET_BIND_SERVICE only for a port below 1024', () => {
    const { services } = mustEvalNixos('{ services.runnerops.bot = { enable = true; port = 443; }; }');
    expect(serviceOf(services, 'runnerops-bot').serviceConfig).toMatchObject({
      CapabilityBoundingSet: 'CAP_NET_BIND_SERVICE',
      AmbientCapabilities: 'CAP_NET_BIND_SERVICE',
      PrivateUsers: false,
    });
  });

  it('runs the worker with three file capabilities, the docker group and write access only where it writes', () => {
    expect(worker.serviceConfig).not.toHaveProperty('DynamicUser');
    expect(worker.serviceConfig.CapabilityBoundingSet).toEqual(['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER']);
    expect(worker.serviceConfig.SupplementaryGroups).toEqual(['docker']);
    expect(worker.serviceConfig.StateDirectory).toBe('runnerops-ci');
    expect(worker.serviceConfig.StateDirectoryMode).toBe('0700');
    expect(worker.serviceConfig.ReadWritePaths).toEqual(['/var/lib/runnerops-ci', '-/var/lib/gitlab-runner/.gitlab-runner', '/etc/gitlab-runner-tokens']);
    expect(worker.serviceConfig.ReadOnlyPaths).toEqual(['-/srv/nix/var/nix', '-/srv/nix/store']);
    expect(full.tmpfiles).toEqual(['d /etc/gitlab-runner-tokens 0700 root root - -']);
  });

  it('orders the worker after Docker and gitlab-runner and gives it systemctl and gitlab-runner', () => {
    expect(worker.after).toEqual(expect.arrayContaining(['docker.service', 'gitlab-runner.service', 'network-online.target']));
    expect(worker.wants).toContain('docker.service');
    expect(worker.path).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\/nix\/store\/[a-z0-9]{32}-systemd-0$/), expect.stringMatching(/-gitlab-runner-0$/)]),
    );
  });

  it('drops the docker group when Docker is not enabled on the host', () => {
    const { services } = mustEvalNixos(withWorker('{ dockerHost = "tcp://10.0.0.2:2375"; }'));
    expect(serviceOf(services, 'runnerops-worker').serviceConfig.SupplementaryGroups).toEqual([]);
    expect(serviceOf(services, 'runnerops-worker').after).not.toContain('docker.service');
  });

  it('lets the env-template worker write the directory of its env file', () => {
    const { services } = mustEvalNixos(withWorker('{ tokenMode = "env-template"; envFile = "/run/secrets/gitlab-runner.env"; }'));
    expect(serviceOf(services, 'runnerops-worker').serviceConfig.ReadWritePaths).toEqual([
      '/var/lib/runnerops',
      '-/var/lib/gitlab-runner/.gitlab-runner',
      '-/run/secrets',
    ]);
  });

  it('picks nixos-module token mode next to services.gitlab-runner', () => {
    const value = mustEvalNixos(`{
      services.gitlab-runner = { enable = true; services.nix = { authenticationTokenConfigFile = "/var/lib/runnerops/tokens/nix.env"; dockerImage = "alpine"; }; };
      services.runnerops.worker.enable = true;
    }`);
    expect(serviceOf(value.services, 'runnerops-worker').environment.RUNNEROPS_TOKEN_MODE).toBe('nixos-module');
    expect(value.warnings).toEqual([]);
    expect(value.tmpfiles).toEqual(['d /var/lib/runnerops/tokens 0700 root root - -']);
  });

  it('expands services.runnerops.worker.runners into services.gitlab-runner.services with a placeholder token file each', () => {
    const value = mustEvalNixos(
      '{ services.runnerops.worker = { enable = true; runners.nix.dockerImage = "alpine"; runners.cache-2.dockerImage = "nixos/nix"; }; }',
    );
    expect(value.gitlabRunnerServices).toEqual({
      nix: { authenticationTokenConfigFile: '/var/lib/runnerops/tokens/nix.env', dockerImage: 'alpine' },
      'cache-2': { authenticationTokenConfigFile: '/var/lib/runnerops/tokens/cache-2.env', dockerImage: 'nixos/nix' },
    });
    expect(serviceOf(value.services, 'runnerops-worker').environment.RUNNEROPS_TOKEN_MODE).toBe('nixos-module');
    expect(value.tmpfiles).toEqual([
      'd /var/lib/runnerops/tokens 0700 root root - -',
      'f /var/lib/runnerops/tokens/cache-2.env 0600 root root - # runnerops: declared runner, not registered yet; /runner register fills this file\\nexit 0\\n',
      'f /var/lib/runnerops/tokens/nix.env 0600 root root - # runnerops: declared runner, not registered yet; /runner register fills this file\\nexit 0\\n',
    ]);
  });

  it('refuses a declared runner whose name cannot be its token file name, or that names a token file itself', () => {
    const badName = evalNixos('{ services.runnerops.worker = { enable = true; runners."Nix Cache".dockerImage = "alpine"; }; }');
    expect(!badName.ok && badName.error).toContain("services.runnerops.worker.runners.Nix Cache: a runner name is also its token file's name");
    const ownFile = evalNixos(
      '{ services.runnerops.worker = { enable = true; runners.nix = { dockerImage = "alpine"; authenticationTokenConfigFile = "/etc/x.env"; }; }; }',
    );
    expect(!ownFile.ok && ownFile.error).toContain('services.runnerops.worker.runners.nix sets a token file; runnerops sets authenticationTokenConfigFile');
  });

  it('warns about a runner whose token file is outside the token directory', () => {
    const value = mustEvalNixos(`{
      services.gitlab-runner = { enable = true; services.docker = { authenticationTokenConfigFile = "/etc/secrets/docker.env"; dockerImage = "alpine"; }; };
      services.runnerops.worker.enable = true;
    }`);
    expect(value.warnings).toEqual([expect.stringMatching(/^services\.gitlab-runner\.services\.docker: .* not in services\.runnerops\.worker\.tokenDir/)]);
  });

  it("refuses config-toml mode next to nixpkgs' configure script, which unregisters the runners it does not declare", () => {
    for (const gitlabRunner of ['{ enable = true; }', `{ enable = true; configFile = ${path.join(repoRoot, 'test/deploy/nix/eval.nix')}; }`]) {
      const result = evalNixos(`{ services.gitlab-runner = ${gitlabRunner}; services.runnerops.worker = { enable = true; tokenMode = "config-toml"; }; }`);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error).toContain(
        'services.runnerops.worker.tokenMode = "config-toml" next to services.gitlab-runner: nixpkgs\' configure script rewrites config.toml at every start and reload and unregisters each runner it does not declare',
      );
    }
  });

  it("refuses env-template mode when nixpkgs' configure script would be the one reading the env file", () => {
    const result = evalNixos('{ services.gitlab-runner.enable = true; services.runnerops.worker = { enable = true; tokenMode = "env-template"; }; }');
    expect(!result.ok && result.error).toContain(
      'services.runnerops.worker.tokenMode = "env-template" but gitlab-runner still runs nixpkgs\' configure script, which never fills the @TOKEN_<NAME>@ placeholders',
    );
  });

  it('warns about the seed\'s own render script and its EnvironmentFile without "-"', () => {
    const value = mustEvalNixos(`{ lib, ... }: {
      services.gitlab-runner.enable = true;
      systemd.services.gitlab-runner.serviceConfig = { EnvironmentFile = "/var/lib/runnerops/gitlab-runner.env"; ExecStartPre = lib.mkForce "!/etc/own-configure"; ExecReload = lib.mkForce "!/etc/own-configure"; };
      services.runnerops.worker = { enable = true; tokenMode = "env-template"; envFile = "/var/lib/runnerops/gitlab-runner.env"; };
    }`);
    expect(value.warnings).toEqual([
      expect.stringContaining("with a configure script of your own: a plain template render resets each runner's id and token_expires_at"),
      expect.stringContaining('EnvironmentFile = "/var/lib/runnerops/gitlab-runner.env" has no "-" prefix'),
    ]);
  });

  it('refuses nixos-module mode with services.gitlab-runner.configFile, which never reads the token files', () => {
    const result = evalNixos(
      `{ services.gitlab-runner = { enable = true; configFile = ${path.join(repoRoot, 'test/deploy/nix/eval.nix')}; }; services.runnerops.worker.enable = true; }`,
    );
    expect(!result.ok && result.error).toContain('services.runnerops.worker.tokenMode = "nixos-module" with services.gitlab-runner.configFile');
  });

  it('evaluates the host configurations the flake checks build', () => {
    expect(serviceOf(mustEvalNixos(checksHost('config-toml')).services, 'runnerops-worker').environment.RUNNEROPS_TOKEN_MODE).toBe('config-toml');
    expect(serviceOf(mustEvalNixos(checksHost('nixos-module')).services, 'runnerops-worker').environment.RUNNEROPS_TOKEN_MODE).toBe('nixos-module');
    const envTemplate = mustEvalNixos(checksHost('env-template'));
    expect(serviceOf(envTemplate.services, 'runnerops-worker').environment.RUNNEROPS_CONFIG_TEMPLATE).toMatch(
      /^\/nix\/store\/[a-z0-9]{32}-gitlab-runner-template\.json$/,
    );
    expect(serviceOf(envTemplate.services, 'gitlab-runner').serviceConfig.ExecStartPre).toMatch(
      /-runnerops-render-gitlab-runner-config\/bin\/runnerops-render-gitlab-runner-config$/,
    );
    expect(envTemplate.warnings).toEqual([]);
  });

  it('refuses nixos-module mode without services.gitlab-runner', () => {
    const result = evalNixos(withWorker('{ tokenMode = "nixos-module"; }'));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(
      /Failed assertions:[\s\S]*tokenMode = "nixos-module" writes the token files of services.gitlab-runner, which is not enabled/,
    );
  });

  it('refuses a secret in extraEnvironment', () => {
    const result = evalNixos('{ services.runnerops.bot = { enable = true; extraEnvironment.SLACK_BOT_TOKEN = "xoxb-1"; }; }');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toContain(
      'services.runnerops.bot.extraEnvironment sets SLACK_BOT_TOKEN; secrets go in services.runnerops.bot.environmentFile',
    );
  });

  it('refuses a Redis URL with a password', () => {
    const result = evalNixos(withWorker('{ redisUrl = "redis://:hunter2@redis:6379"; }'));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toContain('services.runnerops.worker.redisUrl holds credentials');
  });

  it('refuses an environmentFile in the Nix store', () => {
    const result = evalNixos('{ services.runnerops.bot = { enable = true; environmentFile = "/nix/store/abc-bot.env"; }; }');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toContain('environmentFile points into the world-readable Nix store');
  });

  it('refuses an option that does not exist', () => {
    const result = evalNixos(withWorker('{ tokenmode = "config-toml"; }'));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toContain("The option `services.runnerops.worker.tokenmode' does not exist.");
  });

  it('refuses values of the wrong type', () => {
    const heartbeat = evalNixos(withWorker('{ heartbeatSeconds = 0; }'));
    expect(!heartbeat.ok && heartbeat.error).toContain("services.runnerops.worker.heartbeatSeconds' is not of type `integer between 1 and 300");
    const mode = evalNixos(withWorker('{ tokenMode = "toml"; }'));
    expect(!mode.ok && mode.error).toContain('is not of type `one of "config-toml", "nixos-module", "env-template"');
    const relative = evalNixos(withWorker('{ stateDir = "var/lib/x"; }'));
    expect(!relative.ok && relative.error).toContain("services.runnerops.worker.stateDir' is not of type `string matching the pattern /.*");
  });

  it('renders units that systemd-analyze verify accepts without a warning', () => {
    const { status, output } = verifyUnits(full.units);
    expect(output).toBe('');
    expect(status).toBe(0);
  });
});

describe('deploy/nixos/example.nix', () => {
  const example = mustEvalNixos('{ }', { example: true, packagePath });

  it('runs the worker in env-template mode on the env file gitlab-runner reads, with no warning', () => {
    const svc = serviceOf(example.services, 'runnerops-worker');
    expect(svc.environment.RUNNEROPS_TOKEN_MODE).toBe('env-template');
    expect(svc.environment.RUNNEROPS_ENV_FILE).toBe('/var/lib/runnerops/gitlab-runner.env');
    expect(svc.environment.NIX_DAEMON_CONTAINER).toBe('gitlabnix');
    expect(example.warnings).toEqual([]);
  });

  it('starts the bot after its local Redis', () => {
    expect(serviceOf(example.services, 'runnerops-bot').after).toContain('redis-runnerops.service');
    expect(serviceOf(example.services, 'runnerops-bot').serviceConfig.EnvironmentFile).toBe('/run/secrets/runnerops-bot.env');
  });

  it('renders units that systemd-analyze verify accepts without a warning', () => {
    const { status, output } = verifyUnits(example.units);
    expect(output).toBe('');
    expect(status).toBe(0);
  });
});

describe('deploy/nixos/flake.nix', () => {
  const pkg = full.package;
  const packageJson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

  it('builds runnerops with buildNpmPackage at package.json version, the build script and the runnerops binary', () => {
    expect(pkg.pname).toBe('runnerops');
    expect(pkg.version).toBe(packageJson.version);
    expect(pkg.npmBuildScript).toBe('build');
    expect(pkg.mainProgram).toBe('runnerops');
    expect(Object.keys(packageJson.bin)).toContain(pkg.mainProgram);
    expect(pkg.sameAsOverlay).toBe(true);
  });

  it('fetches the npm dependencies with importNpmLock from package-lock.json, with no hash to fill in', () => {
    expect(pkg.npmDepsHash).toBeNull();
    expect(pkg.hasNpmConfigHook).toBe(true);
    expect(readFileSync(path.join(repoRoot, 'deploy/nixos/package.nix'), 'utf8')).not.toMatch(/fakeHash|npmDepsHash/);
    const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string; integrity?: string; link?: boolean }>;
    };
    const deps = pkg.npmDeps!;
    expect(deps.packageName).toBe('runnerops');
    expect(Object.keys(deps.packages).sort()).toEqual(Object.keys(lock.packages).sort());
    const fetched = Object.entries(deps.packages).filter(([key]) => key !== '');
    expect(fetched.length).toBeGreaterThan(100);
    for (const [key, p] of fetched) {
      const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
      expect(p.resolved, key).toBe(`https://registry.npmjs.org/${name}/-/${name.split('/').at(-1)}-${lock.packages[key]?.version}.tgz`);
      expect(p.integrity, key).toBe(lock.packages[key]?.integrity);
    }
  });

  it('takes the runnerops package through mkPackageOption, defaulting to pkgs.runnerops', () => {
    expect(full.options.packageType).toBe('package');
    expect(full.options.packageDefaultText).toBe('pkgs.runnerops');
  });

  it('has checks for the package and a host in each token mode', () => {
    expect(full.checks).toEqual(['host-config-toml', 'host-env-template', 'host-nixos-module', 'package']);
  });

  it('builds from the repository root with package-lock.json, the sources and the tsconfigs', () => {
    expect(pkg.src.root).toBe(repoRoot);
    const relative = pkg.src.files.map((f) => path.relative(repoRoot, f));
    expect(relative).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'jobs']));
    expect(pkg.src.files.filter((f) => !existsSync(f))).toEqual([]);
  });
});

describe('nix-instantiate --parse', () => {
  const files = [path.join(repoRoot, 'deploy/nixos'), path.join(repoRoot, 'test/deploy/nix')].flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.nix'))
      .map((f) => path.join(dir, f)),
  );

  it('finds the flake, the module, the package and the example', () => {
    expect(files.map((f) => path.relative(repoRoot, f))).toEqual(
      expect.arrayContaining(['deploy/nixos/flake.nix', 'deploy/nixos/module.nix', 'deploy/nixos/package.nix', 'deploy/nixos/example.nix']),
    );
  });

  it('parses every .nix file', () => {
    const failures = files.flatMap((file) => {
      const run = spawnSync('nix-instantiate', ['--parse', file], { encoding: 'utf8' });
      return run.status === 0 ? [] : [`${path.relative(repoRoot, file)}: ${run.stderr.trim()}`];
    });
    expect(failures).toEqual([]);
  });
});
