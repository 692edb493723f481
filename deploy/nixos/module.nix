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
    concatStringsSep mapAttrsToList filterAttrs hasPrefix attrNames elem;

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
  gitlabRunnerEnvFile = (config.systemd.services.gitlab-runner or { }).serviceConfig.EnvironmentFile or null;
  gitlabRunnerReadsEnvFile = gitlabRunnerEnvFile == w.envFile
    || (builtins.isList gitlabRunnerEnvFile && elem w.envFile gitlabRunnerEnvFile);

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
    package = mkOption {
      type = types.package;
      description = "The runnerops package; the flake's nixosModules.default sets it to the flake's package.";
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
        default = if runnerServices != { } then "nixos-module" else "config-toml";
        defaultText = literalExpression ''if config.services.gitlab-runner.services != { } then "nixos-module" else "config-toml"'';
        description = ''
          RUNNEROPS_TOKEN_MODE: where this host keeps runner tokens. `nixos-module`: one
          authenticationTokenConfigFile per runner in tokenDir, then reloadCommand. `env-template`: the
          `TOKEN_<NAME>=` lines of envFile, rendered into config.toml by gitlab-runner's configure script
          (the seed's nix-daemon container setup). `config-toml`: config.toml's [[runners]] entries only.
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
      envFile = mkOption {
        type = absolutePath;
        default = "/run/secrets/gitlab-runner.env";
        description = "RUNNEROPS_ENV_FILE: gitlab-runner's EnvironmentFile with `TOKEN_<NAME>=` lines (env-template mode).";
      };
      reloadCommand = mkOption {
        type = types.str;
        default = "systemctl reload gitlab-runner";
        description = "RUNNEROPS_RELOAD_COMMAND: makes gitlab-runner pick up new tokens (its ExecReload re-runs the configure script).";
      };
      nixDaemonContainer = mkOption {
        type = types.str;
        default = "gitlabnix";
        description = "NIX_DAEMON_CONTAINER: name of the long-lived nix-daemon container the job containers use (`volumes_from`).";
      };
      nixStateDir = mkOption {
        type = absolutePath;
        default = "/nix/var/nix";
        example = "/var/lib/docker/volumes/gitlabnix-var/_data";
        description = "NIX_STATE_DIR: Nix state directory (db/db.sqlite, gcroots, profiles) of the store to report on; read only.";
      };
      nixStoreDir = mkOption {
        type = absolutePath;
        default = "/nix/store";
        description = "NIX_STORE_DIR: the Nix store to report on; read only.";
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
      ];

      warnings =
        optionals (w.tokenMode == "nixos-module") (map
          (name: "services.gitlab-runner.services.${name}: its authenticationTokenConfigFile is not in services.runnerops.worker.tokenDir (${w.tokenDir}), so runnerops cannot keep its token after a rotation.")
          runnersOutsideTokenDir)
        ++ optional (w.tokenMode == "config-toml" && runnerServices != { })
          "services.runnerops.worker.tokenMode is \"config-toml\" but services.gitlab-runner.services declares runners: their next reload re-registers them from their token files and drops rotated tokens. Use \"nixos-module\"."
        ++ optional (w.tokenMode == "env-template" && gitlabRunner.enable && !gitlabRunnerReadsEnvFile)
          "services.runnerops.worker.envFile (${w.envFile}) is not an EnvironmentFile of the gitlab-runner service, so tokens written there never reach gitlab-runner.";

      # Root-only, so the gitlab-runner configure script (running as root) can read them.
      systemd.tmpfiles.rules =
        optional (!stateUnderVarLib) "d ${w.stateDir} 0700 root root - -"
        ++ optional (w.tokenMode == "nixos-module") "d ${w.tokenDir} 0700 root root - -";

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
