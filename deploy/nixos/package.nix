# The runnerops package, built from this repository with buildNpmPackage: `npm ci` from
# package-lock.json (offline, from npmDeps), `npm run build` (tsc), then the files package.json's
# "files" lists, with $out/bin/runnerops running dist/src/cli.js on Node.js.
{ lib
, buildNpmPackage
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

buildNpmPackage {
  pname = "runnerops";
  version = (lib.importJSON ../../package.json).version;
  inherit src nodejs;

  # Hash of the npm dependencies fetched from package-lock.json. lib.fakeHash is a placeholder: the
  # first `nix build` fails with "hash mismatch ... got: sha256-..."; put that value here (and again
  # whenever package-lock.json changes). `nix run nixpkgs#prefetch-npm-deps package-lock.json` prints it too.
  npmDepsHash = lib.fakeHash;

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
