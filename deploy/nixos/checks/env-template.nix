# A runner host built like the NixOS wiki's second setup (shared/seed: a long-lived `gitlabnix`
# nix-daemon container whose store every job container mounts with volumes_from, and a config.toml
# rendered from a template with `@TOKEN_NIX@`), with runnerops rendering that template so ids, token
# dates and tokens gitlab-runner rotated itself survive every reload. The flake's checks and test/deploy
# evaluate this same host; deploy/nixos/example.nix is the full version with the images and the bot.
{ lib, pkgs, ... }:
{
  networking.hostName = "ci-3";
  virtualisation.docker.enable = true;
  services.gitlab-runner.enable = true;

  services.runnerops.worker = {
    enable = true;
    gitlabUrl = "https://gitlab.example.com";
    tokenMode = "env-template";
    # Kept in the worker's state directory, not /run/secrets: a tmpfs would lose a rotated token at
    # the next boot, and a secrets manager would put the old one back at the next switch.
    envFile = "/var/lib/runnerops/gitlab-runner.env";
    nixDaemonContainer = "gitlabnix";
    configTemplate = import ../seed-config-template.nix { url = "https://gitlab.example.com"; nixDaemonContainer = "gitlabnix"; };
  };
}
