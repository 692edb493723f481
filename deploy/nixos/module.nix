# NixOS module for runnerops: `services.runnerops.bot` (the Slack bot; one or more per deployment) and
# `services.runnerops.worker` (one per runner host, next to `services.gitlab-runner`).
#
# Every option maps to exactly one environment variable read by src/config.ts (named at the start of
# its description). Secrets never pass through Nix options, which would copy them into the
# world-readable Nix store: they go in `environmentFile`, read by systemd as root before the service
# starts. test/deploy/nixos-module.test.ts checks that options and src/config.ts stay in step.
{ config, lib, pkgs, ... }:

let
  inherit (lib)
    types mkOption mkEnableOption mkIf mkMerge literalExpression optional optionals
    concatStringsSep mapAttrsToList filterAttrs hasPrefix hasSuffix attrNames elem mapAttrs mkDefault isString;

  cfg = config.services.runnerops;
  gitlabRunner = config.services.gitlab-runner;
  dockerEnabled = config.virtualisation.docker.enable;

  # Variables only ever read from environmentFile: never an option, never in extraEnvironment.
  secretVariables = {
    bot = [ "SLACK_BOT_TOKEN" "SLACK_APP_TOKEN" "SLACK_SIGNING_SECRET" "GITLAB_TOKEN" ];
    worker = [ ];
  };

  absolutePath = types.strMatching "/.*";
  logLevels = [ "fatal" "error" "warn" "info" "debug" "trace" "silent" ];

  # Options of readCommonSettings (and the metrics port), which both processes have.
  commonOptions = process: {
    redisUrl = mkOption {
      type = types.nullOr types.str;
      default = "redis://127.0.0.1:6379";
      example = "rediss://redis.internal:6380/0";
      description = ''
        REDIS_URL: the Redis that every bot and worker shares. A URL with a password is a secret: set
        this to null and put `REDIS_URL=...` in environmentFile instead.
      '';
    };
    prefix = mkOption {
      type = types.strMatching "[{][A-Za-z0-9_-]+[}]";
      default = "{runnerops}";
      description = ''
        RUNNEROPS_PREFIX: prefix of every queue and key; a Redis hash tag keeps each queue in one Cluster
        slot. Bots and workers that work together must use the same one.
      '';
    };
    logLevel = mkOption {
      type = types.enum logLevels;
      default = "info";
      description = "LOG_LEVEL: level of the JSON log lines (`journalctl -u runnerops-${process}`).";
    };
    metricsPort = mkOption {
      type = types.port;
      default = 0;
      example = 9464;
      description = "RUNNEROPS_METRICS_PORT: TCP port of `/healthz` and `/metrics` (all addresses); 0 turns them off.";
    };
    environmentFile = mkOption {
      type = types.nullOr absolutePath;
      default = null;
      example = "/run/secrets/runnerops-${process}.env";
      description = ''
        EnvironmentFile with `NAME=value` lines (mode 0600, owned by root), read by systemd before the
        service starts: the place for ${if secretVariables.${process} == [ ] then "a REDIS_URL with a password"
        else concatStringsSep ", " secretVariables.${process} + " and a REDIS_URL with a password"}.
        A string, not a Nix path, so the file never lands in the Nix store (agenix and sops-nix paths fit).
      '';
    };
    extraEnvironment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = { NODE_OPTIONS = "--max-old-space-size=256"; };
      description = "More environment variables for the service. Not for secrets: those go in environmentFile.";
    };
  };

  commonEnvironment = c: {
    REDIS_URL = c.redisUrl;
    RUNNEROPS_PREFIX = c.prefix;
    LOG_LEVEL = c.logLevel;
    RUNNEROPS_METRICS_PORT = toString c.metricsPort;
  };

  # Variables with a null value stay unset, so src/config.ts applies its own default.
  withoutNulls = filterAttrs (_: v: v != null);

  botEnvironment = withoutNulls (commonEnvironment cfg.bot // {
    PORT = toString cfg.bot.port;
    SLACK_API_URL = cfg.bot.slackApiUrl;
    GITLAB_URL = cfg.bot.gitlabUrl;
    RUNNEROPS_POLICY = if cfg.bot.policyFile == null then null else "${cfg.bot.policyFile}";
    RUNNEROPS_AUDIT_FILE = cfg.bot.auditFile;
    RUNNEROPS_RETENTION = cfg.bot.retention;
    # The key file reaches the dynamic user as a systemd credential (LoadCredential), never the Nix store.
    RUNNEROPS_SIGNING_KEY = if cfg.bot.signingKeyFile == null then null else "%d/bot-signing-key";
    RUNNEROPS_BOT_KEYS = if cfg.bot.previousBotKeys == [ ] then null else concatStringsSep "," cfg.bot.previousBotKeys;
    RUNNEROPS_ENROLLED_HOSTS = if cfg.bot.enrolledHosts == { } then null
      else concatStringsSep "," (mapAttrsToList (h: fp: "${h}=${fp}") cfg.bot.enrolledHosts);
    RUNNEROPS_API_SOCKET = cfg.bot.apiSocket;
  }) // cfg.bot.extraEnvironment;

  w = cfg.worker;
  workerEnvironment = withoutNulls (commonEnvironment w // {
    RUNNEROPS_HOST = w.host;
    RUNNEROPS_LABELS = if w.labels == { } then null
      else concatStringsSep "," (mapAttrsToList (k: v: "${k}=${v}") w.labels);
    RUNNEROPS_HEARTBEAT_SECONDS = toString w.heartbeatSeconds;
    RUNNEROPS_STATE_DIR = w.stateDir;
    DOCKER_HOST = w.dockerHost;
    GITLAB_URL = w.gitlabUrl;
    GITLAB_RUNNER_CONFIG = w.runnerConfig;
    RUNNEROPS_TOKEN_MODE = w.tokenMode;
    RUNNEROPS_TOKEN_DIR = w.tokenDir;
    RUNNEROPS_ENV_FILE = w.envFile;
    RUNNEROPS_CONFIG_TEMPLATE = if rendersTemplate then "${templateFile}" else null;
    RUNNEROPS_RELOAD_COMMAND = w.reloadCommand;
    NIX_DAEMON_CONTAINER = w.nixDaemonContainer;
    NIX_STATE_DIR = w.nixStateDir;
    NIX_STORE_DIR = w.nixStoreDir;
    RUNNEROPS_BOT_KEYS = if w.botKeys == [ ] then null else concatStringsSep "," w.botKeys;
    RUNNEROPS_PROTECT_LABEL = w.protectLabel;
    RUNNEROPS_PRUNE_NAMED_VOLUMES = if w.pruneNamedVolumes then "true" else "false";
    RUNNEROPS_WATCH = if w.watch then "on" else "off";
    RUNNEROPS_WATCH_MIN_FREE_PERCENT = toString w.watchMinFreePercent;
    RUNNEROPS_WATCH_TARGET_FREE_PERCENT = toString w.watchTargetFreePercent;
  }) // w.extraEnvironment;

  # Shared by both units (and by deploy/systemd/*.service). MemoryDenyWriteExecute stays off: V8's
  # JIT needs writable and executable memory.
  hardening = {
    NoNewPrivileges = true;
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    PrivateDevices = true;
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    ProtectProc = "invisible";
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    LockPersonality = true;
    RestrictAddressFamilies = [ "AF_UNIX" "AF_INET" "AF_INET6" ];
    SystemCallArchitectures = "native";
    SystemCallErrorNumber = "EPERM";
    UMask = "0077";
    Restart = "on-failure";
    RestartSec = "5s";
  };

  # Ports below 1024 need CAP_NET_BIND_SERVICE; everything else runs with no capability at all.
  botNeedsLowPort = (cfg.bot.port > 0 && cfg.bot.port < 1024) || (cfg.bot.metricsPort > 0 && cfg.bot.metricsPort < 1024);
  auditToFile = cfg.bot.auditFile != null && cfg.bot.auditFile != "-";
  auditInLogsDirectory = auditToFile && hasPrefix "/var/log/runnerops/" cfg.bot.auditFile;

  stateUnderVarLib = hasPrefix "/var/lib/" w.stateDir;
  inStateDir = path: path == w.stateDir || hasPrefix "${w.stateDir}/" path;
  # What the worker writes, and nothing else: its state, gitlab-runner's config directory (atomic
  # writes rename a temp file there), and where the token mode keeps runner tokens. "-": may not exist yet.
  workerWritablePaths =
    [ w.stateDir "-${dirOf w.runnerConfig}" ]
    ++ optional (w.tokenMode == "nixos-module" && !(inStateDir w.tokenDir)) w.tokenDir
    ++ optional (w.tokenMode == "env-template" && !(inStateDir (dirOf w.envFile))) "-${dirOf w.envFile}";

  runnerServices = gitlabRunner.services or { };
  tokenFileOf = svc: svc.authenticationTokenConfigFile or null;
  runnersOutsideTokenDir = attrNames (filterAttrs
    (_: svc: tokenFileOf svc == null || !(hasPrefix "${w.tokenDir}/" (toString (tokenFileOf svc))))
    runnerServices);
  # nixos-module mode: runners declared through services.runnerops.worker.runners.
  tokenFileFor = name: "${w.tokenDir}/${name}.env";
  badRunnerNames = builtins.filter (n: builtins.match "[a-z0-9][a-z0-9-]{0,59}" n == null) (attrNames w.runners);
  runnersNamingTokenFiles = attrNames (filterAttrs
    (_: r: r ? authenticationTokenConfigFile || r ? registrationConfigFile) w.runners);
  # What a declared runner's token file holds until `/runner register` fills it. nixpkgs' configure
  # script runs `bash -c 'set -a && source <file> && gitlab-runner register ...' && sleep 1 || exit 1`
  # for a runner missing from config.toml: `exit 0` in the sourced file ends that bash with success,
  # so the runner is skipped instead of the whole script (and gitlab-runner's start) failing.
  # A systemd-tmpfiles argument: `\n` is a newline there.
  runnerPlaceholder = "# runnerops: declared runner, not registered yet; /runner register fills this file\\nexit 0\\n";

  # nixpkgs' own configure script (ExecStartPre and ExecReload of gitlab-runner.service): it
  # `gitlab-runner unregister`s every runner in config.toml that services.gitlab-runner.services does
  # not declare, at every start and reload. With services.gitlab-runner.configFile it copies that file
  # over config.toml instead. Either way a runner added to config.toml by hand does not survive.
  gitlabRunnerExecStartPre = (config.systemd.services.gitlab-runner or { }).serviceConfig.ExecStartPre or null;
  nixpkgsConfigureRuns = gitlabRunner.enable
    && isString gitlabRunnerExecStartPre && hasSuffix "/bin/gitlab-runner-configure" gitlabRunnerExecStartPre;
  gitlabRunnerOwnsConfig = nixpkgsConfigureRuns || (gitlabRunner.enable && (gitlabRunner.configFile or null) != null);

  # env-template mode with configTemplate: runnerops renders config.toml itself.
  rendersTemplate = w.tokenMode == "env-template" && w.configTemplate != null;
  templateFile = pkgs.writeText "gitlab-runner-template.json" (builtins.toJSON w.configTemplate);
  renderScript = import ./render-runner-config.nix {
    inherit lib pkgs;
    template = templateFile;
    envFile = w.envFile;
    setup = w.configTemplateSetup;
  };
  renderCommand = "!${renderScript}/bin/runnerops-render-gitlab-runner-config";

  gitlabRunnerEnvFile = (config.systemd.services.gitlab-runner or { }).serviceConfig.EnvironmentFile or null;
  gitlabRunnerReadsEnvFile = elem gitlabRunnerEnvFile [ w.envFile "-${w.envFile}" ]
    || (builtins.isList gitlabRunnerEnvFile && (elem w.envFile gitlabRunnerEnvFile || elem "-${w.envFile}" gitlabRunnerEnvFile));

  redisUrlHasPassword = url: url != null && builtins.match "[a-z+]+://[^/]*@.*" url != null;
  commonAssertions = process: c: [
    {
      assertion = !(redisUrlHasPassword c.redisUrl);
      message = "services.runnerops.${process}.redisUrl holds credentials, which would land in the Nix store; set it to null and put REDIS_URL in services.runnerops.${process}.environmentFile.";
    }
    {
      assertion = c.environmentFile == null || !(hasPrefix "/nix/store/" c.environmentFile);
      message = "services.runnerops.${process}.environmentFile points into the world-readable Nix store; use a path outside it, such as an agenix or sops-nix secret.";
    }
    {
      assertion = builtins.all (name: !(c.extraEnvironment ? ${name})) secretVariables.${process};
      message = "services.runnerops.${process}.extraEnvironment sets ${concatStringsSep ", " (builtins.filter (n: c.extraEnvironment ? ${n}) secretVariables.${process})}; secrets go in services.runnerops.${process}.environmentFile, never in the Nix store.";
    }
  ];
in
{
  options.services.runnerops = {
    package = lib.mkPackageOption pkgs "runnerops" {
      extraDescription = "The flake's nixosModules.default sets it to the flake's package; with nixosModules.runnerops alone, add the flake's overlays.default.";
    };

    secretVariables = mkOption {
      type = types.attrsOf (types.listOf types.str);
      default = secretVariables;
      readOnly = true;
      internal = true;
      description = "Variables each process reads only from its environmentFile.";
    };

    bot = commonOptions "bot" // {
      enable = mkEnableOption "the runnerops Slack bot (`runnerops bot`)";
      port = mkOption {
        type = types.port;
        default = 3000;
        description = "PORT: HTTP port of `/slack/events` in HTTP mode (SLACK_SIGNING_SECRET set); unused in Socket Mode.";
      };
      slackApiUrl = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "https://slack-proxy.internal/api/";
        description = "SLACK_API_URL: base URL of Slack's Web API; null means https://slack.com/api/.";
      };
      gitlabUrl = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "https://gitlab.example.com";
        description = "GITLAB_URL: GitLab for control-plane calls (create runners, pause them for a drain); its GITLAB_TOKEN goes in environmentFile.";
      };
      policyFile = mkOption {
        type = types.nullOr types.path;
        default = null;
        example = literalExpression "./runnerops-policy.yml";
        description = ''
          RUNNEROPS_POLICY: the policy file (YAML: roles, who may run, request and approve each verb,
          channels, schedules). Not a secret, so a Nix path is fine. null: read-only verbs for everyone,
          changes for nobody.
        '';
      };
      auditFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "/var/log/runnerops/audit.jsonl";
        description = ''
          RUNNEROPS_AUDIT_FILE: also write the audit log as JSON lines to this file ("-" for the journal).
          A file under /var/log/runnerops/ gets a LogsDirectory the bot's dynamic user may write.
        '';
      };
      retention = mkOption {
        type = types.nullOr (types.strMatching "[0-9]+[smhdw]");
        default = null;
        example = "30d";
        description = ''
          RUNNEROPS_RETENTION: how long finished commands (their records, card rows and BullMQ jobs) stay
          in Redis, counted from the end of each command's timeout; at least 1h. null: 14d.
        '';
      };
      signingKeyFile = mkOption {
        type = types.nullOr absolutePath;
        default = null;
        example = "/run/agenix/runnerops-bot-signing-key";
        description = ''
          RUNNEROPS_SIGNING_KEY: the bot's Ed25519 job-signing key (`runnerops keygen <file>`), shared by
          every bot replica; passed to the service as a systemd credential, so it never enters the Nix
          store. Workers run only jobs this key signed (give them its public key as botKeys).
        '';
      };
      previousBotKeys = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "ed25519:..." ];
        description = "RUNNEROPS_BOT_KEYS: earlier bot public keys still accepted on what bots signed, during a key rotation (docs/security.md).";
      };
      enrolledHosts = mkOption {
        type = types.attrsOf (types.strMatching "SHA256:[A-Za-z0-9+/]{43}");
        default = { };
        example = { ci-3 = "SHA256:..."; };
        description = "RUNNEROPS_ENROLLED_HOSTS: host fingerprints (`runnerops fingerprint` on each host) a person confirmed; the other way to enrol is `/runner enroll <host>`.";
      };
      apiSocket = mkOption {
        type = absolutePath;
        default = "/run/runnerops/api.sock";
        description = "RUNNEROPS_API_SOCKET: the local API `runnerops <verb>` talks to (mode 0660, group runnerops; each request is signed with the person's own key).";
      };
    };

    worker = commonOptions "worker" // {
      enable = mkEnableOption "the runnerops worker for this runner host (`runnerops worker`)";
      host = mkOption {
        type = types.strMatching "[A-Za-z0-9][A-Za-z0-9._-]{0,62}";
        default = config.networking.hostName;
        defaultText = literalExpression "config.networking.hostName";
        description = "RUNNEROPS_HOST: this host's name in the registry, in commands (`/runner prune <host>`) and in its queue's name.";
      };
      labels = mkOption {
        type = types.attrsOf types.str;
        default = { };
        example = { rack = "b"; gpu = "no"; };
        description = "RUNNEROPS_LABELS: free-form labels published in the host registry.";
      };
      heartbeatSeconds = mkOption {
        type = types.ints.between 1 300;
        default = 5;
        description = "RUNNEROPS_HEARTBEAT_SECONDS: seconds between heartbeats; the host counts as gone after three missed ones.";
      };
      stateDir = mkOption {
        type = absolutePath;
        default = "/var/lib/runnerops";
        description = "RUNNEROPS_STATE_DIR: the worker's key pair (sealed runner tokens are opened with it) and recovery files, mode 0700.";
      };
      dockerHost = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "unix:///run/docker.sock";
        description = "DOCKER_HOST: Docker Engine address; null means the local socket.";
      };
      gitlabUrl = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "https://gitlab.example.com";
        description = "GITLAB_URL: GitLab for the runner-token endpoints (verify, reset); runner jobs refuse to start without it.";
      };
      runnerConfig = mkOption {
        type = absolutePath;
        default = "/var/lib/gitlab-runner/.gitlab-runner/config.toml";
        description = "GITLAB_RUNNER_CONFIG: gitlab-runner's config.toml (the path services.gitlab-runner uses).";
      };
      tokenMode = mkOption {
        type = types.enum [ "config-toml" "nixos-module" "env-template" ];
        default = if gitlabRunner.enable then "nixos-module" else "config-toml";
        defaultText = literalExpression ''if config.services.gitlab-runner.enable then "nixos-module" else "config-toml"'';
        description = ''
          RUNNEROPS_TOKEN_MODE: where this host keeps runner tokens. `nixos-module`: one
          authenticationTokenConfigFile per runner in tokenDir, then reloadCommand. `env-template`: the
          `TOKEN_<NAME>=` lines of envFile, rendered into config.toml by gitlab-runner's configure script
          (the seed's nix-daemon container setup). `config-toml`: config.toml's [[runners]] entries only, for a
          gitlab-runner that NixOS does not configure (refused next to nixpkgs' configure script, which
          unregisters every runner it does not declare).
        '';
      };
      tokenDir = mkOption {
        type = absolutePath;
        default = "${w.stateDir}/tokens";
        defaultText = literalExpression ''"''${config.services.runnerops.worker.stateDir}/tokens"'';
        description = ''
          RUNNEROPS_TOKEN_DIR: directory of the runners' authenticationTokenConfigFile files (nixos-module
          mode). Point services.gitlab-runner.services.<name>.authenticationTokenConfigFile into it.
        '';
      };
      runners = mkOption {
        type = types.attrsOf (types.attrsOf types.anything);
        default = { };
        example = literalExpression ''
          {
            nix = {
              dockerImage = "local/nix:latest";
              dockerVolumes = [ "/nix/store:/nix/store:ro" "/nix/var/nix/db:/nix/var/nix/db:ro" "/nix/var/nix/daemon-socket:/nix/var/nix/daemon-socket:ro" ];
              environmentVariables.NIX_REMOTE = "daemon";
            };
          }
        '';
        description = ''
          Runners whose tokens runnerops keeps (nixos-module mode). Each becomes
          `services.gitlab-runner.services.<name>` (any of its options except the two token files) with
          `authenticationTokenConfigFile = "''${tokenDir}/<name>.env"`. Until `/runner register <host>
          --description <name>` fills that file it holds a placeholder that nixpkgs' configure script
          skips, so a fresh host starts gitlab-runner with the runner not registered yet.
          Names: lower-case letters, digits and `-`.
        '';
      };
      envFile = mkOption {
        type = absolutePath;
        default = "/run/secrets/gitlab-runner.env";
        description = "RUNNEROPS_ENV_FILE: gitlab-runner's EnvironmentFile with `TOKEN_<NAME>=` lines (env-template mode).";
      };
      configTemplate = mkOption {
        type = types.nullOr (pkgs.formats.json { }).type;
        default = null;
        example = literalExpression ''
          {
            concurrent = 1;
            runners = [ {
              name = "Nix caching runner";
              url = "https://gitlab.com";
              token = "@TOKEN_NIX@";
              executor = "docker";
              docker = { image = "local/nix:latest"; volumes_from = [ "gitlabnix:ro" ]; pull_policy = "if-not-present"; };
              environment = [ "NIX_REMOTE=daemon" ];
            } ];
          }
        '';
        description = ''
          RUNNEROPS_CONFIG_TEMPLATE: env-template mode, the NixOS wiki's second setup: gitlab-runner's
          config.toml as a Nix value whose runner tokens are `@TOKEN_<NAME>@` placeholders. runnerops
          then renders it as gitlab-runner's ExecStartPre and ExecReload (instead of nixpkgs' configure
          script), filling each placeholder from envFile and keeping the runner's id, token dates and any
          token gitlab-runner rotated itself; a runner whose token is not in envFile yet is left out, so a
          fresh host starts. The worker reads the template to refuse a `/runner register` whose
          `--description` has no placeholder (`nix` needs `@TOKEN_NIX@`).
        '';
      };
      configTemplateSetup = mkOption {
        type = types.lines;
        default = "";
        example = literalExpression "\"docker load < \${localNix}\"";
        description = "Shell commands run as root before each render of configTemplate (e.g. `docker load` of the job image, as the wiki's configure script does).";
      };
      reloadCommand = mkOption {
        type = types.str;
        default = "systemctl reload-or-restart gitlab-runner";
        description = ''
          RUNNEROPS_RELOAD_COMMAND: makes gitlab-runner pick up new tokens (its ExecReload re-runs the
          configure script). `reload-or-restart`, because systemd refuses `reload` of a unit that is not
          running, e.g. after its configure script failed once.
        '';
      };
      nixDaemonContainer = mkOption {
        type = types.str;
        default = "gitlabnix";
        description = "NIX_DAEMON_CONTAINER: name of the long-lived nix-daemon container the job containers use (`volumes_from`).";
      };
      nixStateDir = mkOption {
        type = absolutePath;
        default = "/nix/var/nix";
        example = "/srv/nix/var/nix";
        description = ''
          NIX_STATE_DIR: the host's Nix state directory (db/db.sqlite, gcroots, profiles); read only. Left
          at the default, `/runner store` reports the nixDaemonContainer's store when that container runs
          (found through its mounts, as in the seed's gitlabnix setup) and this one when asked for the
          host's own; set, it names the store to report on.
        '';
      };
      nixStoreDir = mkOption {
        type = absolutePath;
        default = "/nix/store";
        description = "NIX_STORE_DIR: the host's Nix store (see nixStateDir for which store is reported); read only.";
      };
      botKeys = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "ed25519:..." ];
        description = "RUNNEROPS_BOT_KEYS: the bot's public key(s) (printed by `runnerops keygen`); the worker runs only jobs they signed and refuses to start without one.";
      };
      protectLabel = mkOption {
        type = types.str;
        default = "runnerops.keep=true";
        description = "RUNNEROPS_PROTECT_LABEL: Docker objects with this label are never pruned, whatever a job asks.";
      };
      pruneNamedVolumes = mkOption {
        type = types.bool;
        default = false;
        description = "RUNNEROPS_PRUNE_NAMED_VOLUMES: whether a prune may remove named volumes on this host at all (a job can only narrow this).";
      };
      watch = mkOption {
        type = types.bool;
        default = false;
        description = "RUNNEROPS_WATCH: let the disk-pressure watch prune this host (it also needs the policy's watch.enabled).";
      };
      watchMinFreePercent = mkOption {
        type = types.ints.between 1 90;
        default = 10;
        description = "RUNNEROPS_WATCH_MIN_FREE_PERCENT: the highest free-space threshold below which the watch may prune (the policy can only lower it).";
      };
      watchTargetFreePercent = mkOption {
        type = types.ints.between 1 95;
        default = 20;
        description = "RUNNEROPS_WATCH_TARGET_FREE_PERCENT: the most free space the watch may prune for (the policy can only lower it).";
      };
    };
  };

  config = mkMerge [
    (mkIf cfg.bot.enable {
      assertions = commonAssertions "bot" cfg.bot ++ [
        {
          assertion = cfg.bot.signingKeyFile == null || !(hasPrefix "/nix/store/" cfg.bot.signingKeyFile);
          message = "services.runnerops.bot.signingKeyFile points into the world-readable Nix store; use a secret path outside it (agenix, sops-nix).";
        }
      ];
      users.groups.runnerops = { };

      systemd.services.runnerops-bot = {
        description = "runnerops Slack bot";
        wantedBy = [ "multi-user.target" ];
        wants = [ "network-online.target" ];
        after = [ "network-online.target" ];
        environment = botEnvironment;
        serviceConfig = hardening // {
          ExecStart = "${cfg.package}/bin/runnerops bot";
          # Everything the bot keeps lives in Redis: no user, no state, no capability of its own.
          DynamicUser = true;
          CapabilityBoundingSet = if botNeedsLowPort then "CAP_NET_BIND_SERVICE" else "";
          AmbientCapabilities = mkIf botNeedsLowPort "CAP_NET_BIND_SERVICE";
          PrivateUsers = !botNeedsLowPort;
          SystemCallFilter = [ "@system-service" "~@privileged" ];
          TimeoutStopSec = "30s";
          EnvironmentFile = mkIf (cfg.bot.environmentFile != null) cfg.bot.environmentFile;
          LoadCredential = mkIf (cfg.bot.signingKeyFile != null) "bot-signing-key:${cfg.bot.signingKeyFile}";
          # The terminal API socket: members of group runnerops may connect (requests are still signed).
          Group = "runnerops";
          RuntimeDirectory = mkIf (hasPrefix "/run/runnerops/" cfg.bot.apiSocket) "runnerops";
          RuntimeDirectoryMode = mkIf (hasPrefix "/run/runnerops/" cfg.bot.apiSocket) "0750";
          LogsDirectory = mkIf auditInLogsDirectory "runnerops";
          LogsDirectoryMode = mkIf auditInLogsDirectory "0750";
          ReadWritePaths = mkIf (auditToFile && !auditInLogsDirectory) [ (dirOf cfg.bot.auditFile) ];
        };
      };
    })

    (mkIf w.enable {
      assertions = commonAssertions "worker" w ++ [
        {
          assertion = w.tokenMode != "nixos-module" || gitlabRunner.enable;
          message = "services.runnerops.worker.tokenMode = \"nixos-module\" writes the token files of services.gitlab-runner, which is not enabled; enable it or choose \"config-toml\".";
        }
        {
          assertion = w.tokenMode != "nixos-module" || (gitlabRunner.configFile or null) == null;
          message = "services.runnerops.worker.tokenMode = \"nixos-module\" with services.gitlab-runner.configFile: nixpkgs' configure script then copies that file over config.toml and never registers a runner from its token file; remove configFile and declare runners in services.runnerops.worker.runners.<name>.";
        }
        {
          assertion = w.tokenMode != "config-toml" || !gitlabRunnerOwnsConfig;
          message = "services.runnerops.worker.tokenMode = \"config-toml\" next to services.gitlab-runner: nixpkgs' configure script rewrites config.toml at every start and reload and unregisters each runner it does not declare, so runners registered by runnerops would be deleted; use tokenMode = \"nixos-module\" and declare runners in services.runnerops.worker.runners.<name>, or \"env-template\" with services.runnerops.worker.configTemplate.";
        }
        {
          assertion = w.tokenMode != "env-template" || rendersTemplate || !nixpkgsConfigureRuns;
          message = "services.runnerops.worker.tokenMode = \"env-template\" but gitlab-runner still runs nixpkgs' configure script, which never fills the @TOKEN_<NAME>@ placeholders of envFile (${w.envFile}); set services.runnerops.worker.configTemplate to your config.toml template so runnerops renders it, or use tokenMode = \"nixos-module\" with services.runnerops.worker.runners.";
        }
        {
          assertion = w.configTemplate == null || w.tokenMode == "env-template";
          message = "services.runnerops.worker.configTemplate is rendered only in env-template mode; set services.runnerops.worker.tokenMode = \"env-template\" or remove configTemplate.";
        }
        {
          assertion = w.runners == { } || w.tokenMode == "nixos-module";
          message = "services.runnerops.worker.runners declares ${concatStringsSep ", " (attrNames w.runners)} for services.gitlab-runner, but tokenMode is \"${w.tokenMode}\"; set services.runnerops.worker.tokenMode = \"nixos-module\".";
        }
        {
          assertion = badRunnerNames == [ ];
          message = "services.runnerops.worker.runners.${concatStringsSep ", " badRunnerNames}: a runner name is also its token file's name and its `/runner register --description`; use lower-case letters, digits and \"-\" (at most 60).";
        }
        {
          assertion = runnersNamingTokenFiles == [ ];
          message = "services.runnerops.worker.runners.${concatStringsSep ", " runnersNamingTokenFiles} sets a token file; runnerops sets authenticationTokenConfigFile to ${w.tokenDir}/<name>.env itself: remove it.";
        }
      ];

      warnings =
        optionals (w.tokenMode == "nixos-module") (map
          (name: "services.gitlab-runner.services.${name}: its authenticationTokenConfigFile is not in services.runnerops.worker.tokenDir (${w.tokenDir}), so runnerops cannot keep its token after a rotation.")
          runnersOutsideTokenDir)
        ++ optional (w.tokenMode == "env-template" && gitlabRunner.enable && !rendersTemplate && !nixpkgsConfigureRuns)
          "services.runnerops.worker.tokenMode is \"env-template\" with a configure script of your own: a plain template render resets each runner's id and token_expires_at and puts back a token gitlab-runner has rotated itself. Set services.runnerops.worker.configTemplate to the template (and configTemplateSetup to the rest of the script) and let runnerops render it."
        ++ optional (w.tokenMode == "env-template" && gitlabRunner.enable && !rendersTemplate && isString gitlabRunnerEnvFile && !(hasPrefix "-" gitlabRunnerEnvFile))
          "systemd.services.gitlab-runner.serviceConfig.EnvironmentFile = \"${toString gitlabRunnerEnvFile}\" has no \"-\" prefix: on a fresh host, before the first /runner register writes it, systemd refuses to start gitlab-runner; write \"-${toString gitlabRunnerEnvFile}\"."
        ++ optional (w.tokenMode == "env-template" && gitlabRunner.enable && !rendersTemplate && !nixpkgsConfigureRuns && !gitlabRunnerReadsEnvFile)
          "services.runnerops.worker.envFile (${w.envFile}) is not an EnvironmentFile of the gitlab-runner service, so tokens written there never reach gitlab-runner.";

      # Root-only, so the gitlab-runner configure script (running as root) can read them.
      systemd.tmpfiles.rules =
        optional (!stateUnderVarLib) "d ${w.stateDir} 0700 root root - -"
        ++ optional (w.tokenMode == "nixos-module") "d ${w.tokenDir} 0700 root root - -"
        # `f`: written only when the file does not exist, so a registered runner's token is never replaced.
        ++ mapAttrsToList (name: _: "f ${tokenFileFor name} 0600 root root - ${runnerPlaceholder}") w.runners;

      # The seed's second setup, rendered by runnerops: replaces nixpkgs' configure script.
      systemd.services.gitlab-runner.serviceConfig = mkIf rendersTemplate {
        ExecStartPre = lib.mkForce renderCommand;
        ExecReload = lib.mkForce renderCommand;
      };

      services.gitlab-runner = mkIf (w.runners != { }) {
        enable = mkDefault true;
        services = mapAttrs (name: r: r // { authenticationTokenConfigFile = tokenFileFor name; }) w.runners;
      };

      systemd.services.runnerops-worker = {
        description = "runnerops worker for runner host ${w.host}";
        wantedBy = [ "multi-user.target" ];
        wants = [ "network-online.target" ] ++ optional dockerEnabled "docker.service";
        after = [ "network-online.target" ] ++ optional dockerEnabled "docker.service"
          ++ optional gitlabRunner.enable "gitlab-runner.service";
        # systemctl for reloadCommand, gitlab-runner for its version in host-facts.
        path = [ config.systemd.package ] ++ optional gitlabRunner.enable gitlabRunner.package;
        environment = workerEnvironment;
        serviceConfig = hardening // {
          ExecStart = "${cfg.package}/bin/runnerops worker";
          # Not DynamicUser: the worker rewrites gitlab-runner's config.toml and token files keeping
          # their owner (gitlab-runner's own dynamic user) and mode, and runs `systemctl reload`, which
          # systemd allows root only. So it runs as root with just the three capabilities those writes
          # need; the Docker socket (root:docker) is open to it either way.
          CapabilityBoundingSet = [ "CAP_CHOWN" "CAP_DAC_OVERRIDE" "CAP_FOWNER" ];
          SupplementaryGroups = optional dockerEnabled "docker";
          StateDirectory = mkIf stateUnderVarLib (lib.removePrefix "/var/lib/" w.stateDir);
          StateDirectoryMode = mkIf stateUnderVarLib "0700";
          ReadWritePaths = workerWritablePaths;
          # The store-usage report reads the Nix db; it never writes it (ProtectSystem=strict already
          # makes it read-only, this keeps it so if someone loosens ProtectSystem in an override).
          ReadOnlyPaths = [ "-${w.nixStateDir}" "-${w.nixStoreDir}" ];
          SystemCallFilter = [ "@system-service" ];
          # Running jobs get 30 s to finish before they go back to the queue.
          TimeoutStopSec = "60s";
          EnvironmentFile = mkIf (w.environmentFile != null) w.environmentFile;
        };
      };
    })
  ];
}
