# The few NixOS options deploy/nixos/module.nix reads or sets, declared as NixOS declares them (same
# names, types and defaults), so the module is evaluated against the same interface. Namespaces with
# `_freeformType` accept the rest of a NixOS configuration (as in deploy/nixos/example.nix) unchecked;
# services.runnerops and every systemd service are checked strictly.
{ lib, pkgs, ... }:

let
  inherit (lib) mkOption types;

  # systemd-lib's unitOption: single values must agree, lists are concatenated.
  unitOption = lib.mkOptionType {
    name = "unitOption";
    description = "systemd option";
    check = v: builtins.isBool v || builtins.isInt v || builtins.isString v || builtins.isList v || builtins.isPath v || (builtins.isAttrs v && v ? outPath);
    merge = loc: values:
      if builtins.all builtins.isList values then builtins.concatLists values
      else lib.mergeEqual loc (map (v: lib.checked unitOption loc v) values);
  };
  units = mkOption { type = types.listOf types.str; default = [ ]; };

  service = {
    options = {
      enable = mkOption { type = types.bool; default = true; };
      description = mkOption { type = types.str; default = ""; };
      wantedBy = units;
      requiredBy = units;
      wants = units;
      requires = units;
      after = units;
      before = units;
      bindsTo = units;
      partOf = units;
      conflicts = units;
      path = mkOption { type = types.listOf (types.either types.package types.str); default = [ ]; };
      environment = mkOption { type = types.attrsOf (types.nullOr (types.oneOf [ types.str types.path types.package ])); default = { }; };
      serviceConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
      unitConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
      script = mkOption { type = types.lines; default = ""; };
      preStart = mkOption { type = types.lines; default = ""; };
      postStart = mkOption { type = types.lines; default = ""; };
      restartTriggers = mkOption { type = types.listOf types.anything; default = [ ]; };
      reloadTriggers = mkOption { type = types.listOf types.anything; default = [ ]; };
      restartIfChanged = mkOption { type = types.bool; default = true; };
      startLimitIntervalSec = mkOption { type = types.nullOr types.int; default = null; };
      startLimitBurst = mkOption { type = types.nullOr types.int; default = null; };
    };
  };
in
{
  options = {
    _freeformType = types.anything;

    assertions = mkOption {
      type = types.listOf (types.submodule {
        options = {
          assertion = mkOption { type = types.bool; };
          message = mkOption { type = types.str; };
        };
      });
      default = [ ];
    };
    warnings = mkOption { type = types.listOf types.str; default = [ ]; };

    networking = {
      _freeformType = types.anything;
      hostName = mkOption { type = types.strMatching "[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"; default = "nixos"; };
    };

    systemd = {
      _freeformType = types.anything;
      package = mkOption { type = types.package; default = pkgs.systemd; };
      services = mkOption { type = types.attrsOf (types.submodule service); default = { }; };
      tmpfiles.rules = mkOption { type = types.listOf types.str; default = [ ]; };
    };

    virtualisation = {
      _freeformType = types.anything;
      docker = {
        _freeformType = types.anything;
        enable = mkOption { type = types.bool; default = false; };
      };
    };

    services = {
      _freeformType = types.anything;
      gitlab-runner = {
        _freeformType = types.anything;
        enable = mkOption { type = types.bool; default = false; };
        package = mkOption { type = types.package; default = pkgs.gitlab-runner; };
        services = mkOption { type = types.attrsOf types.anything; default = { }; };
      };
    };
  };
}
