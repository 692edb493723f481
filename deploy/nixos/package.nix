# The runnerops package, built from this repository with buildNpmPackage: `npm ci` from
# package-lock.json (offline, each dependency fetched by importNpmLock with the integrity hash the lock
# file already holds, so there is no dependency hash to fill in), `npm run build` (tsc), then the files
# package.json's "files" lists, with $out/bin/runnerops running dist/src/cli.js on Node.js.
{ lib
, buildNpmPackage
, importNpmLock
, nodejs
, python3
, src ? lib.fileset.toSource {
    root = ../..;
    # Only what the build reads, so editing tests or docs does not rebuild the package.
    fileset = lib.fileset.unions [
      ../../package.json
      ../../package-lock.json
      ../../tsconfig.json
      ../../tsconfig.build.json
      ../../src
      ../../jobs
      (lib.fileset.maybeMissing ../../deploy/slack)
    ];
  }
}:

let
  packageJson = lib.importJSON ../../package.json;
  lock = lib.importJSON ../../package-lock.json;
  # npm wrote this lock file without `resolved` URLs (omit-lockfile-registry-resolved), and importNpmLock
  # fetches each package from its `resolved`: put back the registry tarball URL npm itself would use
  # (node_modules/@scope/name -> https://registry.npmjs.org/@scope/name/-/name-<version>.tgz); the
  # lock's `integrity` still pins every byte.
  tarballUrl = path: pkg:
    let name = lib.last (lib.splitString "node_modules/" path); in
    "https://registry.npmjs.org/${name}/-/${lib.last (lib.splitString "/" name)}-${pkg.version}.tgz";
  fromRegistry = path: pkg: path != "" && !(pkg ? resolved) && !(pkg.link or false) && pkg ? version && pkg ? integrity;
  packageLock = lock // {
    packages = lib.mapAttrs (path: pkg: if fromRegistry path pkg then pkg // { resolved = tarballUrl path pkg; } else pkg) lock.packages;
  };
in
buildNpmPackage {
  pname = "runnerops";
  inherit (packageJson) version;
  inherit src nodejs;

  npmDeps = importNpmLock { package = packageJson; inherit packageLock; };
  npmConfigHook = importNpmLock.npmConfigHook;

  # better-sqlite3 compiles its native addon (no prebuilt download in the sandbox): node-gyp needs Python.
  nativeBuildInputs = [ python3 ];

  npmBuildScript = "build";

  meta = {
    description = "ChatOps for self-hosted GitLab runners on NixOS hosts: register, rotate, restart the nix-daemon, prune, report store usage";
    license = lib.licenses.mit;
    mainProgram = "runnerops";
    platforms = lib.platforms.linux;
  };
}
