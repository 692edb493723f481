# Stand-ins for the packages the module and the example refer to: derivation-shaped sets whose outPath
# is a plain path (the runnerops package's is a directory the test creates, so systemd-analyze finds
# bin/runnerops). Builders return the same shape and are never built.
{ packagePath }:
let
  drv = name: outPath: { type = "derivation"; inherit name outPath; };
  stored = name: drv name "/nix/store/00000000000000000000000000000000-${name}";
in
{
  runnerops = drv "runnerops" packagePath;
  systemd = drv "systemd" "/usr";
  gitlab-runner = stored "gitlab-runner";
  docker = stored "docker";
  gawk = stored "gawk";
  cachix = stored "cachix";
  nix = stored "nix";
  writeText = name: _text: stored name;
  writeScript = name: _text: stored name;
  writeShellScript = name: _text: stored name;
  formats.toml = _: { generate = name: _value: stored name; };
  dockerTools.buildLayeredImage = args: stored "${args.name}.tar.gz";
}
