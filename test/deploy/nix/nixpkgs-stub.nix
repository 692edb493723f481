# A stand-in for the nixpkgs flake input of deploy/nixos/flake.nix, built from the nixos-eval folder
# (nixpkgs' real lib and gitlab-runner module, a thin systemd stand-in, packages that are never built):
# - lib: nixpkgs' real lib, except lib.fileset (Nix 2.8 lacks builtins.readFileType), which lists the
#   paths it was given and, like the real one, refuses a path that does not exist;
# - lib.nixosSystem: evalModules over nixos-lite + runner.nix + the given modules; its
#   config.system.build.toplevel fails on failed assertions as a NixOS build does;
# - legacyPackages.<system>: nixos-eval's pkgs plus buildNpmPackage and importNpmLock that return their
#   arguments (so a test reads what the flake would build) and the runnerops package at `packagePath`.
{ nixosEval, packagePath, traceScripts ? false }:
let
  lib = import (nixosEval + "/nixpkgs/lib");
  systems = [ "x86_64-linux" "aarch64-linux" ];

  fileset = {
    unions = list: list;
    maybeMissing = path: { maybeMissing = toString path; };
    toSource = { root, fileset }: {
      root = toString root;
      files = map
        (f:
          if builtins.isAttrs f then f.maybeMissing
          else if builtins.pathExists f then toString f
          else throw "lib.fileset.toSource: ${toString f} does not exist")
        fileset;
    };
  };

  # What NixOS has and nixos-lite does not: system.build.toplevel (checks assertions), stateVersion
  # and users.groups / users.users (the real ones are submodules; attribute sets are enough here).
  systemModule = { config, ... }: {
    options.users.groups = lib.mkOption { type = lib.types.attrsOf (lib.types.attrsOf lib.types.anything); default = { }; };
    options.users.users = lib.mkOption { type = lib.types.attrsOf (lib.types.attrsOf lib.types.anything); default = { }; };
    options.system.stateVersion = lib.mkOption { type = lib.types.str; default = lib.trivial.release; };
    options.system.build = lib.mkOption { type = lib.types.lazyAttrsOf lib.types.raw; default = { }; };
    config.system.build.toplevel = lib.asserts.checkAssertWarn config.assertions config.warnings
      ((derivation { name = "nixos-system-${config.networking.hostName}"; system = "x86_64-linux"; builder = "/bin/sh"; })
        // { inherit (config.systemd) unitTexts; });
  };
  nixosSystem = { system ? "x86_64-linux", modules, specialArgs ? { } }: lib.evalModules {
    specialArgs = { modulesPath = nixosEval + "/nixpkgs/nixos/modules"; } // specialArgs;
    modules = [
      (nixosEval + "/nixos-lite.nix")
      (nixosEval + "/nixpkgs/nixos/modules/services/continuous-integration/gitlab-runner/runner.nix")
      systemModule
      { _module.args.pkgs = packagesFor system; }
    ] ++ modules;
  };

  flakeLib = lib // { inherit fileset nixosSystem; };

  packagesFor = system:
    let
      base = import (nixosEval + "/pkgs.nix") { inherit lib system traceScripts; };
      self = base // {
        lib = flakeLib;
        # nixos-eval's stand-in puts the image name into the store path as it is; the real
        # dockerTools takes its base name, so "local/nix" is a valid image name.
        dockerTools.buildLayeredImage = args: base.dockerTools.buildLayeredImage (args // { name = baseNameOf args.name; });
        buildNpmPackage = args: args // {
          type = "derivation";
          name = "${args.pname}-${args.version}";
          outPath = packagePath;
        };
        importNpmLock = {
          __functor = _: args: { type = "derivation"; name = "npm-deps"; outPath = "/nix/store/00000000000000000000000000000000-npm-deps"; inherit args; };
          npmConfigHook = { type = "derivation"; name = "npm-config-hook"; outPath = "/nix/store/00000000000000000000000000000000-npm-config-hook"; };
        };
        callPackage = fn: args: let f = if builtins.isFunction fn then fn else import fn; in
          f (builtins.intersectAttrs (builtins.functionArgs f) self // args);
      };
    in
    self;
in
{
  lib = flakeLib;
  legacyPackages = lib.genAttrs systems packagesFor;
}
