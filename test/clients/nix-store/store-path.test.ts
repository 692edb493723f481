import { describe, expect, it } from 'vitest';
import { hashPart, isDerivationPath, readableName, storePathBase } from '../../../src/clients/nix-store/store-path.js';

const hash = 'ym75ywnab9bpi84dkshjkglxh3bs4k9g';

describe('storePathBase', () => {
  it('gives the store path a target lies in', () => {
    expect(storePathBase(`/nix/store/${hash}-b/bin/b`, '/nix/store')).toBe(`${hash}-b`);
    expect(storePathBase(`/nix/store/${hash}-b`, '/nix/store')).toBe(`${hash}-b`);
  });

  it('refuses targets outside the store or the store itself', () => {
    expect(storePathBase('/nix/store', '/nix/store')).toBeUndefined();
    expect(storePathBase('/nix/store/', '/nix/store')).toBeUndefined();
    expect(storePathBase(`/nix/storex/${hash}-b`, '/nix/store')).toBeUndefined();
    expect(storePathBase('relative/path', '/nix/store')).toBeUndefined();
  });
});

describe('hashPart', () => {
  it('takes the 32 characters before the name', () => {
    expect(hashPart(`/nix/store/${hash}-gcc-12.3.0`)).toBe(hash);
  });
});

describe('readableName', () => {
  it('strips the store directory and the hash', () => {
    expect(readableName(`/nix/store/${hash}-gcc-12.3.0`)).toBe('gcc-12.3.0');
    expect(readableName(`${hash}-hello.drv`)).toBe('hello.drv');
  });

  it('leaves a name without a hash alone', () => {
    expect(readableName('/nix/store/short-name')).toBe('short-name');
  });
});

describe('isDerivationPath', () => {
  it('tells derivations by their .drv name', () => {
    expect(isDerivationPath(`/nix/store/${hash}-hello.drv`)).toBe(true);
    expect(isDerivationPath(`/nix/store/${hash}-hello`)).toBe(false);
  });
});
