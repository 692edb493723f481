# Evaluates deploy/nixos/flake.nix's nixosModules.default (module.nix with the flake's package) for one
# configuration, with the stand-ins beside this file, and returns what the tests assert on:
#   nix-instantiate --eval --strict --json test/deploy/nix/eval.nix \
#     --arg configuration '{ services.runnerops.worker.enable = true; }' --argstr packagePath /tmp/pkg
# With `--arg example true`, the configuration is deploy/nixos/example.nix (its `nix` input a stand-in
# that is never read: the images it builds are not evaluated). Failed assertions abort the evaluation
# with NixOS's "Failed assertions:" message.
{ configuration ? { }, example ? false, packagePath ? "/nonexistent/runnerops", system ? "x86_64-linux" }:
let
  lib = import ./lib.nix;
  nixpkgs = import ./nixpkgs-stub.nix { inherit packagePath; };
  pkgs = nixpkgs.legacyPackages.${system};
  flake = import ../../../deploy/nixos/flake.nix;
  outputs = flake.outputs { self = outputs; inherit nixpkgs; };

  evaluated = lib.evalModules {
    modules = [ ./nixos-stub.nix ] ++ (if example
      then [ (import ../../../deploy/nixos/example.nix { nix = { outPath = "/nonexistent/nix-source"; }; runnerops = outputs; }) ]
      else [ outputs.nixosModules.default configuration ]);
    specialArgs = { inherit pkgs; };
  };
  inherit (evaluated) config;

  services = lib.filterAttrs (name: _: lib.hasPrefix "runnerops-" name) config.systemd.services;

  # Renders a service the way NixOS's systemd-lib does: lists as repeated lines, Booleans as true/false,
  # environment as quoted Environment= lines with PATH from `path`.
  renderValue = v: if builtins.isBool v then (if v then "true" else "false") else toString v;
  renderEntries = attrs: lib.concatMap
    (key: let v = attrs.${key}; in map (x: "${key}=${renderValue x}") (if builtins.isList v then v else [ v ]))
    (builtins.attrNames attrs);
  escapeEnv = s: builtins.replaceStrings [ "\\" "\"" "%" ] [ "\\\\" "\\\"" "%%" ] s;
  renderUnit = svc:
    let
      env = lib.filterAttrs (_: v: v != null) svc.environment // lib.optionalAttrs (svc.path != [ ]) {
        PATH = lib.concatMapStringsSep ":" (p: "${p}/bin:${p}/sbin") svc.path;
      };
      unitSection = lib.filterAttrs (_: v: v != [ ] && v != "") {
        Description = svc.description;
        After = builtins.concatStringsSep " " svc.after;
        Wants = builtins.concatStringsSep " " svc.wants;
        Requires = builtins.concatStringsSep " " svc.requires;
      } // svc.unitConfig;
    in
    builtins.concatStringsSep "\n" (
      [ "[Unit]" ] ++ renderEntries unitSection
      ++ [ "" "[Service]" ]
      ++ lib.mapAttrsToList (k: v: ''Environment="${escapeEnv "${k}=${toString v}"}"'') env
      ++ renderEntries svc.serviceConfig
      ++ [ "" "[Install]" "WantedBy=${builtins.concatStringsSep " " svc.wantedBy}" "" ]
    );

  optionSummary = opts: builtins.mapAttrs
    (_: o: { type = o.type.description; description = o.description or null; hasDefault = o ? default; })
    (lib.filterAttrs (_: lib.isOption) opts);

  failed = map (a: a.message) (builtins.filter (a: !a.assertion) config.assertions);

  result = {
    inherit services;
    units = builtins.mapAttrs (_: renderUnit) services;
    tmpfiles = config.systemd.tmpfiles.rules;
    warnings = config.warnings;
    secretVariables = config.services.runnerops.secretVariables;
    options = {
      bot = optionSummary evaluated.options.services.runnerops.bot;
      worker = optionSummary evaluated.options.services.runnerops.worker;
    };
    package = {
      inherit (outputs.packages.${system}.default) pname version npmDepsHash npmBuildScript src;
      mainProgram = outputs.packages.${system}.default.meta.mainProgram;
      sameAsOverlay = (outputs.overlays.default pkgs pkgs).runnerops.name == outputs.packages.${system}.default.name;
    };
  };
in
if failed != [ ] then throw "Failed assertions:\n${lib.concatMapStringsSep "\n" (m: "- ${m}") failed}" else result
