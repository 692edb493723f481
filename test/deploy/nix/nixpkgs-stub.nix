# A stand-in for the nixpkgs flake input of deploy/nixos/flake.nix: lib (the test's module system plus
# what package.nix calls), and per system a callPackage whose buildNpmPackage returns its arguments as a
# derivation-shaped set, so the test can read what the flake would build without building it.
{ packagePath }:
let
  lib = import ./lib.nix;
  systems = [ "x86_64-linux" "aarch64-linux" ];
  pkgs = import ./pkgs.nix { inherit packagePath; };
  flakeLib = lib // {
    genAttrs = names: f: builtins.listToAttrs (map (n: lib.nameValuePair n (f n)) names);
    importJSON = path: builtins.fromJSON (builtins.readFile path);
    fakeHash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    licenses.mit = { spdxId = "MIT"; };
    platforms.linux = systems;
    # lib.fileset: like the real one, a listed path that does not exist is an error (unless maybeMissing).
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
  };
  callPackageWith = autoArgs: fn: overrides:
    let f = if builtins.isFunction fn then fn else import fn; in
    f (builtins.intersectAttrs (builtins.functionArgs f) autoArgs // overrides);
  packagesFor = system:
    let
      self = pkgs // {
        lib = flakeLib;
        stdenv.hostPlatform.system = system;
        nodejs = pkgs.nix // { name = "nodejs"; };
        python3 = pkgs.nix // { name = "python3"; };
        buildNpmPackage = args: args // {
          type = "derivation";
          name = "${args.pname}-${args.version}";
          outPath = packagePath;
        };
        callPackage = callPackageWith self;
      };
    in
    self;
in
{
  lib = flakeLib;
  legacyPackages = flakeLib.genAttrs systems packagesFor;
}
