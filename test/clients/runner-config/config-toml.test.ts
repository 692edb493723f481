import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  appendEntry,
  expiryFrom,
  parseRunnerConfig,
  removeEntry,
  selectRunnerEntry,
  setEntryToken,
  summarizeRunners,
  tokenFingerprint,
  tomlTime,
} from '../../../src/clients/runner-config/config-toml.js';
import { PermanentJobError, UserError } from '../../../src/errors.js';
import { defined } from '../../helpers/defined.js';

const seedFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'seed-config.toml');
const seed = async () => (await readFile(seedFile, 'utf8')).replace('@TOKEN_NIX@', 'glrt-seedtokenseedtoken01');

describe('parseRunnerConfig', () => {
  it('reads the seed config.toml with its docker and nix-daemon settings', async () => {
    const config = parseRunnerConfig(await seed());
    expect(config.concurrent).toBe(1);
    expect(config.runners?.[0]).toMatchObject({ name: 'Nix caching runner', id: 12354, executor: 'docker', docker: { volumes_from: ['gitlabnix:ro'] } });
  });

  it('names the line of a TOML error and treats a missing file as empty', () => {
    expect(() => parseRunnerConfig('a = \n[[runners]]', '/etc/config.toml')).toThrow(
      /^\/etc\/config\.toml is not valid TOML \(line 1, column \d+\); fix it before changing runners$/,
    );
    expect(parseRunnerConfig(undefined)).toEqual({});
  });
});

describe('setEntryToken', () => {
  it('writes token, token_obtained_at and token_expires_at and keeps every other key', async () => {
    const text = await seed();
    const out = setEntryToken(
      text,
      { id: 12354 },
      { token: 'glrt-newtokennewtoken0001', obtainedAt: '2026-01-02T03:04:05.678Z', expiresAt: '2026-02-01T00:00:00.000Z' },
    );
    expect(out).toContain('token_obtained_at = 2026-01-02T03:04:05Z');
    expect(out).toContain('token_expires_at = 2026-02-01T00:00:00Z');
    const before = defined(parseRunnerConfig(text).runners?.[0], 'a runner before');
    const after = defined(parseRunnerConfig(out).runners?.[0], 'a runner after');
    const { token: _t1, token_obtained_at: _o, token_expires_at: _e, ...rest } = after;
    const { token: _t0, ...restBefore } = before;
    expect(rest).toEqual(restBefore);
    expect(after.token).toBe('glrt-newtokennewtoken0001');
  });

  it('writes the zero time for a token that does not expire', async () => {
    const out = setEntryToken(await seed(), { name: 'Nix caching runner' }, { token: 'glrt-x', obtainedAt: new Date(), expiresAt: null });
    expect(out).toContain('token_expires_at = 0001-01-01T00:00:00Z');
    expect(expiryFrom(defined(parseRunnerConfig(out).runners?.[0], 'a runner').token_expires_at)).toBeUndefined();
  });

  it('refuses when the runner vanished from the file', async () => {
    const text = await seed();
    expect(() => setEntryToken(text, { id: 1 }, { token: 'glrt-x', obtainedAt: new Date(), expiresAt: null })).toThrow(PermanentJobError);
  });
});

describe('summarizeRunners', () => {
  it('lists name, id, url, expiry and a fingerprint of the token, never the token', async () => {
    const out = setEntryToken(await seed(), { id: 12354 }, { token: 'glrt-secretsecret000001', obtainedAt: new Date(), expiresAt: '2026-03-01T00:00:00Z' });
    const summary = summarizeRunners(parseRunnerConfig(out));
    expect(summary).toEqual([
      {
        name: 'Nix caching runner',
        id: 12354,
        url: 'https://gitlab.com',
        tokenExpiresAt: '2026-03-01T00:00:00.000Z',
        tokenFingerprint: tokenFingerprint('glrt-secretsecret000001'),
      },
    ]);
    expect(JSON.stringify(summary)).not.toContain('glrt-');
    expect(JSON.stringify(summary)).not.toContain('secretsecret');
  });
});

describe('tokenFingerprint', () => {
  it('is 16 hex digits, equal for one token and different for another', () => {
    expect(tokenFingerprint('glrt-aaaaaaaaaaaaaaaaaaaa')).toMatch(/^[0-9a-f]{16}$/);
    expect(tokenFingerprint('glrt-aaaaaaaaaaaaaaaaaaaa')).toBe(tokenFingerprint('glrt-aaaaaaaaaaaaaaaaaaaa'));
    expect(tokenFingerprint('glrt-aaaaaaaaaaaaaaaaaaaa')).not.toBe(tokenFingerprint('glrt-aaaaaaaaaaaaaaaaaaab'));
  });
});

describe('selectRunnerEntry', () => {
  const two = 'concurrent = 2\n[[runners]]\nname = "a"\nid = 5\n[[runners]]\nname = "b"\nid = 6\n';

  it('finds a runner by id or by name', () => {
    const config = parseRunnerConfig(two);
    expect(selectRunnerEntry(config, '6', 'ci-1').name).toBe('b');
    expect(selectRunnerEntry(config, '#5', 'ci-1').name).toBe('a');
    expect(selectRunnerEntry(config, 'b', 'ci-1').id).toBe(6);
  });

  it('lists what there is when the runner is unknown', () => {
    expect(() => selectRunnerEntry(parseRunnerConfig(two), 'c', 'ci-1')).toThrow(new UserError('ci-1 has no runner "c"; it has: a (#5), b (#6)'));
  });

  it('says how to register one when there are none', () => {
    expect(() => selectRunnerEntry({}, undefined, 'ci-2')).toThrow(
      'ci-2 has no runners in its config.toml; register one with /runner register ci-2 --type ...',
    );
  });
});

describe('appendEntry', () => {
  it('adds a runner after the existing ones and refuses a duplicate name', async () => {
    const out = appendEntry(await seed(), {
      name: 'second',
      id: 7,
      token: 'glrt-y',
      token_obtained_at: tomlTime(new Date()),
      token_expires_at: tomlTime(null),
    });
    expect(parseRunnerConfig(out).runners!.map((r) => r.name)).toEqual(['Nix caching runner', 'second']);
    expect(() => appendEntry(out, { name: 'second', id: 8 })).toThrow('already has a runner named "second"');
  });
});

describe('removeEntry', () => {
  it('removes only the matching runner', async () => {
    const out = appendEntry(await seed(), { name: 'second', id: 7 });
    expect(parseRunnerConfig(removeEntry(out, { id: 7 })).runners!.map((r) => r.name)).toEqual(['Nix caching runner']);
  });
});

describe('selectRunnerEntry with the names nixpkgs gives declared runners', () => {
  const config = parseRunnerConfig(
    '[[runners]]\nname = "nix_ci-3_e85673634b63"\nid = 7\n\n[[runners]]\nname = "nix_cache_ci-3_0123456789ab"\nid = 8\n\n[[runners]]\nname = "abcdef012345 Docker builds"\nid = 9\n',
  );

  it('finds <name>_<host>_<hash> by the declared name', () => {
    expect(selectRunnerEntry(config, 'nix', 'ci-3').id).toBe(7);
    expect(selectRunnerEntry(config, 'nix_cache', 'ci-3').id).toBe(8);
  });

  it('finds "<hash> <description>" by the description', () => {
    expect(selectRunnerEntry(config, 'Docker builds', 'ci-3').id).toBe(9);
  });

  it('still says what there is when nothing matches', () => {
    expect(() => selectRunnerEntry(config, 'ni', 'ci-3')).toThrow(
      'ci-3 has no runner "ni"; it has: nix_ci-3_e85673634b63 (#7), nix_cache_ci-3_0123456789ab (#8), abcdef012345 Docker builds (#9)',
    );
  });
});

describe('expiryFrom', () => {
  it("reads the string dates nixpkgs' configure script leaves in config.toml", () => {
    expect(expiryFrom('2026-03-04T05:06:07+00:00')).toBe('2026-03-04T05:06:07.000Z');
    expect(expiryFrom('0001-01-01T00:00:00+00:00')).toBeUndefined();
  });
});
