import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  authTokenFilePath,
  findAuthTokenFile,
  findVarByValue,
  parseEnvFile,
  removeEnvVar,
  renderAuthTokenFile,
  setEnvVar,
  slugOf,
  tokenVarFor,
} from '../../../src/clients/runner-config/token-files.js';

describe('tokenVarFor', () => {
  it('names the seed runner TOKEN_NIX and makes any name a valid variable', () => {
    expect(tokenVarFor('nix')).toBe('TOKEN_NIX');
    expect(tokenVarFor('Nix caching runner')).toBe('TOKEN_NIX_CACHING_RUNNER');
    expect(slugOf('  ')).toBe('runner');
  });
});

describe('setEnvVar', () => {
  it('replaces the line in place and keeps comments and other variables', () => {
    const text = '# secrets\nTOKEN_NIX=old\nOTHER="x y"\n';
    expect(setEnvVar(text, 'TOKEN_NIX', 'glrt-new')).toBe('# secrets\nTOKEN_NIX=glrt-new\nOTHER="x y"\n');
    expect(setEnvVar(text, 'TOKEN_CACHE', 'glrt-c')).toBe(`${text}TOKEN_CACHE=glrt-c\n`);
    expect(setEnvVar(undefined, 'A', 'b')).toBe('A=b\n');
  });
});

describe('removeEnvVar', () => {
  it('drops only that variable', () => {
    expect(removeEnvVar('A=1\nB=2\n', 'A')).toBe('B=2\n');
    expect(removeEnvVar('A=1\n', 'A')).toBe('');
  });
});

describe('findVarByValue', () => {
  it('finds the variable that holds a token, quoted or not', () => {
    expect(findVarByValue('X=1\nTOKEN_NIX="glrt-abc"\n', 'glrt-abc')).toBe('TOKEN_NIX');
    expect(parseEnvFile('export A=1\n#B=2\n').get('A')).toBe('1');
  });
});

describe('findAuthTokenFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-tokens-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("finds a runner's file by the id in its comment, then by token, then by name", async () => {
    await writeFile(path.join(dir, 'a.env'), renderAuthTokenFile({ id: 5, name: 'a', url: 'https://g', token: 'glrt-aaa' }));
    await writeFile(path.join(dir, 'b.env'), 'CI_SERVER_URL=https://g\nCI_SERVER_TOKEN=glrt-bbb\n');
    await writeFile(path.join(dir, 'c.env'), 'CI_SERVER_URL=https://g\nCI_SERVER_TOKEN=glrt-stale\n');
    expect(await findAuthTokenFile(dir, { id: 5, token: 'glrt-other' })).toBe(path.join(dir, 'a.env'));
    expect(await findAuthTokenFile(dir, { id: 9, token: 'glrt-bbb' })).toBe(path.join(dir, 'b.env'));
    expect(await findAuthTokenFile(dir, { token: 'glrt-new', name: 'C' })).toBe(authTokenFilePath(dir, 'C'));
    expect(await findAuthTokenFile(path.join(dir, 'missing'), { id: 5 })).toBeUndefined();
  });
});

describe('setEnvVar with a value a shell would run', () => {
  it('refuses it and names the variable', () => {
    expect(() => setEnvVar('A=1\n', 'TOKEN_NIX', '$(touch /tmp/x)')).toThrow(
      /^refusing to write TOKEN_NIX: its value has characters a shell would expand or run/,
    );
  });
});
