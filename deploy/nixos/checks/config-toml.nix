# A runner host whose gitlab-runner NixOS does not configure (it runs from its own config.toml, e.g. in
# a container): runnerops keeps the [[runners]] entries of that file. The flake's checks and
# test/deploy evaluate this same host.
{ ... }:
{
  networking.hostName = "ci-4";
  virtualisation.docker.enable = true;
  services.runnerops.worker = {
    enable = true;
    gitlabUrl = "https://gitlab.example.com";
    tokenMode = "config-toml";
    runnerConfig = "/srv/gitlab-runner/config/config.toml";
    reloadCommand = "true";
  };
}
