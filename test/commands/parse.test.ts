import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/commands/parse.js';
import { UserError } from '../../src/errors.js';

function errorOf(text: string): string {
  try {
    parseCommand(text);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error(`"${text}" parsed without error`);
}

describe('parseCommand', () => {
  it('treats an empty line as help', () => {
    expect(parseCommand('')).toEqual({ verb: 'help' });
  });

  it('reads every prune flag into a typed request', () => {
    expect(parseCommand('prune ci-3 --dry-run --until 24h --volumes --images unused --build-cache')).toEqual({
      verb: 'prune',
      target: { kind: 'host', host: 'ci-3' },
      dryRun: true,
      untilSeconds: 86400,
      volumes: true,
      images: 'unused',
      buildCache: true,
    });
  });

  it('leaves --until to the policy when it is not given', () => {
    expect(parseCommand('prune all')).toMatchObject({ target: { kind: 'all' }, dryRun: false });
    expect(parseCommand('prune all')).not.toHaveProperty('untilSeconds');
  });

  it('reads a quoted description with spaces', () => {
    expect(parseCommand('register ci-1 --type project --project 7 --description "nix runner two" --tags nix,docker --untagged')).toEqual({
      verb: 'register',
      host: 'ci-1',
      type: 'project',
      projectId: 7,
      description: 'nix runner two',
      tags: ['nix', 'docker'],
      untagged: true,
      paused: false,
    });
  });

  it('accepts the same words as an argument array from the CLI', () => {
    expect(parseCommand(['restart-daemon', 'ci-2', '--drain', '--timeout', '30m'])).toEqual({ verb: 'restart-daemon', host: 'ci-2', drain: true, timeoutSeconds: 1800 });
  });

  it('suggests the verb a typo was meant to be', () => {
    expect(errorOf('prnue ci-1')).toBe('unknown verb "prnue" — did you mean "prune"?');
    expect(errorOf('zzz')).toBe('unknown verb "zzz"; try "help" for the list of verbs');
  });

  it('suggests the flag a typo was meant to be', () => {
    expect(errorOf('prune ci-1 --dryrun')).toBe('unknown option "--dryrun" for prune — did you mean "--dry-run"?');
  });

  it('explains a bad duration with an example', () => {
    expect(errorOf('prune ci-1 --until yesterday')).toBe('--until "yesterday" is not a duration; use a number with s, m, h, d or w (e.g. 24h)');
  });

  it('refuses a missing host with the usage line', () => {
    expect(errorOf('ping')).toBe('ping needs <host|all>; usage: ping <host|all>');
  });

  it('refuses path traversal and shell metacharacters in a host name', () => {
    expect(errorOf('ping ../../etc')).toContain('is not a host name');
    expect(errorOf('ping ci-1;rm')).toContain('is not a host name');
    expect(errorOf('ping $(id)')).toContain('is not a host name');
  });

  it('requires --group with --type group', () => {
    expect(errorOf('register ci-1 --type group')).toBe('--type group needs --group ID');
  });

  it('refuses a flag value that is not one of the choices', () => {
    expect(errorOf('prune ci-1 --images all')).toBe('--images "all" is not valid; expected dangling or unused');
  });

  it('refuses an unbalanced quote', () => {
    expect(errorOf('register ci-1 --type instance --description "oops')).toContain('unbalanced quote');
  });

  it('refuses oversized input in one line', () => {
    expect(errorOf(`ping ${'a'.repeat(3000)}`)).toBe('command is 3005 characters long; the limit is 2000');
  });

  it('limits --top to a sensible range', () => {
    expect(parseCommand('store all --top 5')).toEqual({ verb: 'store', target: { kind: 'all' }, top: 5 });
    expect(errorOf('store all --top 0')).toBe('--top "0" is not valid; expected a whole number from 1 to 100');
  });
});

describe('parseCommand hosts', () => {
  it('reads plain hosts as the fleet view, with no filter', () => {
    expect(parseCommand('hosts')).toEqual({ verb: 'hosts' });
  });

  it('reads all, attention, a state word or a name prefix, and a page', () => {
    expect(parseCommand('hosts all --page 3')).toEqual({ verb: 'hosts', filter: { kind: 'all' }, page: 3 });
    expect(parseCommand('hosts attention')).toEqual({ verb: 'hosts', filter: { kind: 'attention' } });
    expect(parseCommand('hosts silent')).toEqual({ verb: 'hosts', filter: { kind: 'state', state: 'silent' } });
    expect(parseCommand('hosts key-changed')).toEqual({ verb: 'hosts', filter: { kind: 'state', state: 'key-changed' } });
    expect(parseCommand('hosts ci-1')).toEqual({ verb: 'hosts', filter: { kind: 'prefix', prefix: 'ci-1' } });
    expect(parseCommand('hosts --page 2')).toEqual({ verb: 'hosts', filter: { kind: 'all' }, page: 2 });
  });

  it('refuses a page that is not a whole number and a filter that is not a host name', () => {
    expect(() => parseCommand('hosts all --page 0')).toThrow('--page "0" is not valid; expected a whole number from 1 to 100000');
    expect(() => parseCommand('hosts ../x')).toThrow(/^"\.\.\/x" is neither a host state \(healthy, key-changed, unsigned, pending, silent, daemon, disk, expiring\) nor the start of a host name/);
  });
});

describe('parseCommand limits', () => {
  it('refuses --until beyond a year', () => {
    expect(() => parseCommand('prune all --until 400d')).toThrow('--until may be at most 366d');
  });
});
