# Evaluates deploy/nixos/flake.nix's nixosModules.default (module.nix with the flake's package) for one
# host configuration, with nixpkgs' real lib and real services.gitlab-runner module from the nixos-eval
# folder (see test/deploy/eval-nixos.ts for where it is found), and returns what the tests assert on:
#   nix-instantiate --eval --strict --json test/deploy/nix/eval.nix --argstr nixosEval ../shared/nixos-eval \
#     --arg configuration '{ services.runnerops.worker.enable = true; }' --argstr packagePath /tmp/pkg
# `configuration` is a module (an expression or a path such as deploy/nixos/checks/nixos-module.nix).
# `--arg traceScripts true` prints nixpkgs' generated gitlab-runner-configure script on stderr.
# Failed assertions abort with NixOS's "Failed assertions:" message.
{ nixosEval, configuration ? { }, example ? false, packagePath ? "/nonexistent/runnerops", system ? "x86_64-linux", traceScripts ? false }:
let
  nixpkgs = import ./nixpkgs-stub.nix { inherit nixosEval packagePath traceScripts; };
  inherit (nixpkgs) lib;
  pkgs = nixpkgs.legacyPackages.${system};
  flake = import ../../../deploy/nixos/flake.nix;
  outputs = flake.outputs { self = outputs; inherit nixpkgs; };

  evaluated = lib.nixosSystem {
    inherit system;
    modules = if example
      then [ (import ../../../deploy/nixos/example.nix { nix = { outPath = ./nix-source; }; runnerops = outputs; }) ]
      else [ outputs.nixosModules.default configuration ];
  };
  inherit (evaluated) config;

  pickServices = lib.filterAttrs (name: _: lib.hasPrefix "runnerops-" name || lib.hasPrefix "gitlab-runner" name);
  serviceOf = svc: {
    inherit (svc) description wantedBy wants after requires serviceConfig unitConfig reloadIfChanged;
    # PATH is what `path` renders to; the tests read `path` itself.
    environment = builtins.removeAttrs svc.environment [ "PATH" ];
    path = map toString svc.path;
  };

  optionSummary = opts: builtins.mapAttrs
    (_: o: { type = o.type.description; description = o.description or null; hasDefault = o ? default; })
    (lib.filterAttrs (_: lib.isOption) opts);

  failed = map (a: a.message) (builtins.filter (a: !a.assertion) config.assertions);
  pkg = outputs.packages.${system}.default;

  result = {
    services = builtins.mapAttrs (_: serviceOf) (pickServices config.systemd.services);
    units = lib.filterAttrs (name: _: lib.hasPrefix "runnerops-" name) config.systemd.unitTexts;
    tmpfiles = config.systemd.tmpfiles.rules;
    warnings = config.warnings;
    secretVariables = config.services.runnerops.secretVariables;
    configTemplate = config.services.runnerops.worker.configTemplate;
    gitlabRunnerServices = builtins.mapAttrs (_: s: { authenticationTokenConfigFile = s.authenticationTokenConfigFile; dockerImage = s.dockerImage; })
      config.services.gitlab-runner.services;
    options = {
      bot = optionSummary evaluated.options.services.runnerops.bot;
      worker = optionSummary evaluated.options.services.runnerops.worker;
      packageType = evaluated.options.services.runnerops.package.type.description;
      packageDefaultText = evaluated.options.services.runnerops.package.defaultText.text or null;
    };
    package = {
      inherit (pkg) pname version npmBuildScript src;
      npmDepsHash = pkg.npmDepsHash or null;
      npmDeps = if pkg ? npmDeps then {
        packages = builtins.mapAttrs (_: p: { resolved = p.resolved or null; integrity = p.integrity or null; }) pkg.npmDeps.args.packageLock.packages;
        packageName = pkg.npmDeps.args.package.name;
      } else null;
      hasNpmConfigHook = pkg ? npmConfigHook;
      mainProgram = pkg.meta.mainProgram;
      sameAsOverlay = (outputs.overlays.default pkgs pkgs).runnerops.name == pkg.name;
    };
    checks = builtins.attrNames (outputs.checks.${system} or { });
  };
in
if failed != [ ] then throw "Failed assertions:\n${lib.concatMapStringsSep "\n" (m: "- ${m}") failed}" else result
