{
  description = "runnerops: ChatOps for self-hosted GitLab runners on NixOS hosts";

  # Any recent nixpkgs works (buildNpmPackage with importNpmLock, Node.js >= 20); follow your own:
  #   inputs.runnerops.inputs.nixpkgs.follows = "nixpkgs";
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # A NixOS system of one of the host configurations in checks/ (the same ones test/deploy evaluates):
      # building it evaluates the module, fails on its assertions, and builds the package.
      hostCheck = system: host: (nixpkgs.lib.nixosSystem {
        inherit system;
        modules = [
          self.nixosModules.default
          host
          { boot.isContainer = true; system.stateVersion = "25.05"; }
        ];
      }).config.system.build.toplevel;
    in
    {
      packages = forAllSystems (pkgs: rec {
        runnerops = pkgs.callPackage ./package.nix { };
        default = runnerops;
      });

      overlays.default = final: _prev: {
        runnerops = final.callPackage ./package.nix { };
      };

      # The NixOS wiki's gitlabnix config.toml as a value for services.runnerops.worker.configTemplate:
      #   configTemplate = runnerops.lib.seedConfigTemplate { url = "https://gitlab.example.com"; };
      lib.seedConfigTemplate = import ./seed-config-template.nix;

      # The module alone: services.runnerops.package then defaults to pkgs.runnerops (add overlays.default).
      nixosModules.runnerops = ./module.nix;

      # The module with this flake's package: add it to a system's modules and enable
      # services.runnerops.worker (every runner host) and services.runnerops.bot (one host).
      nixosModules.default = { lib, pkgs, ... }: {
        imports = [ ./module.nix ];
        services.runnerops.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
      };

      # `nix flake check`: the package, and a host in each token mode.
      checks = forAllSystems (pkgs:
        let system = pkgs.stdenv.hostPlatform.system; in
        {
          package = self.packages.${system}.default;
          host-nixos-module = hostCheck system ./checks/nixos-module.nix;
          host-config-toml = hostCheck system ./checks/config-toml.nix;
          host-env-template = hostCheck system ./checks/env-template.nix;
        });
    };
}
