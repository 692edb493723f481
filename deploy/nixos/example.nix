# A runner host as the NixOS wiki's "nix-daemon in a dedicated Docker container" setup builds it
# (shared/seed), plus runnerops: the worker on this host and, on this same host for a small site, the
# bot and its Redis. Use it from your system flake:
#
#   inputs.nix.url = "github:NixOS/nix";
#   inputs.runnerops.url = "github:<owner>/runnerops?dir=deploy/nixos";
#   inputs.runnerops.inputs.nixpkgs.follows = "nixpkgs";
#   ...
#   nixosConfigurations.ci-3 = nixpkgs.lib.nixosSystem {
#     system = "x86_64-linux";
#     modules = [ ./hardware-configuration.nix (import ./runner-host.nix { inherit nix runnerops; }) ];
#   };
#
# The runner's config.toml is rendered from a template whose @TOKEN_NIX@ placeholder comes from an env
# file, so the worker runs in "env-template" token mode, keeps TOKEN_NIX= in that file and renders the
# template itself (services.runnerops.worker.configTemplate).
{ nix, runnerops }:
{ config, lib, pkgs, ... }:

let
  # The job image and the daemon image, built from Nix's own docker.nix (as in the seed).
  localNix = import (nix.outPath + "/docker.nix") {
    inherit pkgs;
    name = "local/nix";
    tag = "latest";
    bundleNixpkgs = false;
    extraPkgs = with pkgs; [ cachix ];
    nixConf = {
      cores = "0";
      experimental-features = [ "nix-command" "flakes" ];
    };
  };
  localNixDaemon = pkgs.dockerTools.buildLayeredImage {
    fromImage = localNix;
    name = "local/nix-daemon";
    tag = "latest";
    config.Volumes = {
      "/nix/store" = { };
      "/nix/var/nix/db" = { };
      "/nix/var/nix/daemon-socket" = { };
    };
    maxLayers = 125;
  };

  # Written by runnerops (`/runner register`, `/runner rotate`) and read by the renderer below. Kept
  # in the worker's state directory, not /run/secrets: a tmpfs would lose a rotated token at the next
  # boot, and a secrets manager would put the old one back at the next switch.
  tokenEnvFile = "/var/lib/runnerops/gitlab-runner.env";
in
{
  imports = [ runnerops.nixosModules.default ];

  virtualisation.docker = {
    enable = true;
    # runnerops prunes on demand and on its schedule (`/runner prune`), with the nix-daemon container
    # and its volumes protected; a blind daily `docker system prune` is no longer needed.
    autoPrune.enable = false;
  };

  # The long-lived nix-daemon container every job container mounts with volumes_from.
  virtualisation.oci-containers = {
    backend = "docker";
    containers.gitlabnix = {
      imageFile = localNixDaemon;
      image = "local/nix-daemon:latest";
      cmd = [ "nix" "daemon" ];
    };
  };

  services.gitlab-runner.enable = true;

  services.runnerops.worker = {
    enable = true;
    tokenMode = "env-template";
    envFile = tokenEnvFile;
    # The wiki's config.toml, rendered by runnerops as gitlab-runner's ExecStartPre/ExecReload (in place
    # of the wiki's awk script): @TOKEN_NIX@ comes from envFile, and the runner's id, token dates and
    # any token gitlab-runner rotated itself are kept across renders. `/runner register ci-3 --type ...
    # --description nix` fills TOKEN_NIX; a second runner needs its own entry with @TOKEN_<NAME>@.
    configTemplate = runnerops.lib.seedConfigTemplate { url = "https://gitlab.com"; nixDaemonContainer = "gitlabnix"; };
    configTemplateSetup = "${pkgs.docker}/bin/docker load < ${localNix}";
    gitlabUrl = "https://gitlab.com";
    nixDaemonContainer = "gitlabnix";
    labels = { executor = "docker"; store = "gitlabnix"; };
    metricsPort = 9464;
    # A Redis on another host with a password: REDIS_URL=rediss://:<password>@redis.internal:6380 in here.
    # redisUrl = null;
    # environmentFile = "/run/secrets/runnerops-worker.env";
  };

  # One bot per site: here on the same host, with a local Redis. BullMQ needs maxmemory-policy noeviction,
  # and append-only persistence keeps approvals, schedules and the audit trail across restarts.
  services.redis.servers.runnerops = {
    enable = true;
    port = 6379;
    appendOnly = true;
    settings.maxmemory-policy = "noeviction";
  };

  services.runnerops.bot = {
    enable = true;
    redisUrl = "redis://127.0.0.1:6379";
    gitlabUrl = "https://gitlab.com";
    # SLACK_BOT_TOKEN=xoxb-..., SLACK_APP_TOKEN=xapp-... (Socket Mode), GITLAB_TOKEN=glpat-... (create_runner scope)
    environmentFile = "/run/secrets/runnerops-bot.env";
    policyFile = "/etc/runnerops/policy.yml";
    metricsPort = 9465;
  };
  systemd.services.runnerops-bot = {
    after = [ "redis-runnerops.service" ];
    wants = [ "redis-runnerops.service" ];
  };

  # Prometheus on another host scrapes both.
  networking.firewall.allowedTCPPorts = [ 9464 9465 ];
}
