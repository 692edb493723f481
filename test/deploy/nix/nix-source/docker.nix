# Stand-in for NixOS/nix's docker.nix (the `nix` flake input of deploy/nixos/example.nix): an image
# derivation with the name and tag asked for, never built.
{ pkgs, name ? "nix", tag ? "latest", ... }:
pkgs.dockerTools.buildLayeredImage { inherit name tag; }
