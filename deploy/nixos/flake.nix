{
  description = "runnerops: ChatOps for self-hosted GitLab runners on NixOS hosts";

  # Any recent nixpkgs works (lib.fileset, buildNpmPackage, Node.js >= 20); follow your own:
  #   inputs.runnerops.inputs.nixpkgs.follows = "nixpkgs";
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: rec {
        runnerops = pkgs.callPackage ./package.nix { };
        default = runnerops;
      });

      overlays.default = final: _prev: {
        runnerops = final.callPackage ./package.nix { };
      };

      # The module alone: set services.runnerops.package yourself (e.g. from the overlay).
      nixosModules.runnerops = ./module.nix;

      # The module with this flake's package: add it to a system's modules and enable
      # services.runnerops.worker (every runner host) and services.runnerops.bot (one host).
      nixosModules.default = { lib, pkgs, ... }: {
        imports = [ ./module.nix ];
        services.runnerops.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
      };
    };
}
