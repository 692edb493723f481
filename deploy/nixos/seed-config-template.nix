# The NixOS wiki's config.toml for the "nix-daemon in a dedicated Docker container" setup
# (shared/seed), as the Nix value services.runnerops.worker.configTemplate takes: one docker runner
# whose job containers mount the daemon container's store, db and socket (volumes_from) and talk to it
# with NIX_REMOTE=daemon. Its token is the @TOKEN_NIX@ placeholder (`/runner register <host> --description nix`).
{ url, nixDaemonContainer ? "gitlabnix" }:
{
  concurrent = 1;
  runners = [
    {
      name = "Nix caching runner";
      inherit url;
      id = 12354;
      token = "@TOKEN_NIX@";
      executor = "docker";
      docker = {
        image = "local/nix:latest";
        allowed_images = [ "local/nix:latest" ];
        pull_policy = "if-not-present";
        allowed_pull_policies = [ "if-not-present" ];
        volumes_from = [ "${nixDaemonContainer}:ro" ];
      };
      environment = [
        "NIX_REMOTE=daemon"
        "ENV=/etc/profile.d/nix-daemon.sh"
        "BASH_ENV=/etc/profile.d/nix-daemon.sh"
      ];
      pre_build_script = ''
        mkdir -p /tmp
        cp --remove-destination $(readlink -f /etc/nix/nix.conf) /etc/nix/nix.conf
      '';
    }
  ];
}
