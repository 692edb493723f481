# A runner host built like the NixOS wiki's first setup (shared/seed: the docker executor, job
# containers using the host's own nix-daemon), its runner declared through runnerops so that
# `/runner register ci-3 --type ... --description nix` fills the runner's token file. The flake's
# checks and test/deploy evaluate this same host.
{ lib, pkgs, ... }:
{
  networking.hostName = "ci-3";
  virtualisation.docker.enable = true;
  services.gitlab-runner.enable = true;

  services.runnerops.worker = {
    enable = true;
    gitlabUrl = "https://gitlab.example.com";
    # tokenMode defaults to "nixos-module" next to services.gitlab-runner.
    runners.nix = {
      dockerImage = "alpine";
      dockerVolumes = [
        "/nix/store:/nix/store:ro"
        "/nix/var/nix/db:/nix/var/nix/db:ro"
        "/nix/var/nix/daemon-socket:/nix/var/nix/daemon-socket:ro"
      ];
      dockerDisableCache = true;
      preBuildScript = pkgs.writeScript "setup-container" ''
        mkdir -p -m 0755 /nix/var/log/nix/drvs /nix/var/nix/gcroots /nix/var/nix/profiles /nix/var/nix/temproots
        . ${pkgs.nix}/etc/profile.d/nix-daemon.sh
      '';
      environmentVariables = {
        ENV = "/etc/profile";
        USER = "root";
        NIX_REMOTE = "daemon";
        PATH = "/nix/var/nix/profiles/default/bin:/nix/var/nix/profiles/default/sbin:/bin:/sbin:/usr/bin:/usr/sbin";
      };
    };
  };
}
