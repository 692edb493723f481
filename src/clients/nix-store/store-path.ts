/** Store path helpers: what Nix's `toStorePath`, `hashPart` and `isDerivation` do, on strings. */

/** Length of the hash part of a store path's base name (Nix base32 of 160 bits). */
export const HASH_PART_LENGTH = 32;

/**
 * The base name (`<hash>-<name>`) of the store path that `target` lies in, or undefined when `target`
 * is not below `storeDir`. Like Nix's `isInStore` + `toStorePath`: `/nix/store/abc-foo/bin/x` gives
 * `abc-foo`. Whether that base name is a valid path is for the caller to look up.
 */
export function storePathBase(target: string, storeDir: string): string | undefined {
  if (target.length < storeDir.length + 2 || !target.startsWith(storeDir) || target[storeDir.length] !== '/') {
    return undefined;
  }
  const start = storeDir.length + 1;
  const slash = target.indexOf('/', start);
  const base = slash === -1 ? target.slice(start) : target.slice(start, slash);
  return base === '' || base === '.' || base === '..' ? undefined : base;
}

/** The hash part of a store path or base name (`/nix/store/<hash>-name` gives `<hash>`). */
export function hashPart(pathOrBase: string): string {
  const base = pathOrBase.slice(pathOrBase.lastIndexOf('/') + 1);
  return base.slice(0, HASH_PART_LENGTH);
}

/** A name for people: `/nix/store/<hash>-gcc-12.3.0` gives `gcc-12.3.0`. */
export function readableName(pathOrBase: string): string {
  const base = pathOrBase.slice(pathOrBase.lastIndexOf('/') + 1);
  if (base.length > HASH_PART_LENGTH + 1 && base[HASH_PART_LENGTH] === '-') return base.slice(HASH_PART_LENGTH + 1);
  return base;
}

/** Whether a store path is a derivation (its name ends in `.drv`), as Nix's `StorePath::isDerivation`. */
export function isDerivationPath(pathOrBase: string): boolean {
  return pathOrBase.endsWith('.drv');
}
