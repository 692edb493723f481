import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/commands/parse.js';
import { UserError } from '../../src/errors.js';
import fc from 'fast-check';

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
    expect(parseCommand(['restart-daemon', 'ci-2', '--drain', '--timeout', '30m'])).toEqual({
      verb: 'restart-daemon',
      host: 'ci-2',
      drain: true,
      timeoutSeconds: 1800,
    });
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
    expect(errorOf('prune ci-1 --images all')).toBe('--images "all" is not valid; expected dangling or unused or lru');
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

describe('parseCommand for gc', () => {
  it('reads the target, --dry-run and --max-freed in binary units', () => {
    expect(parseCommand('gc ci-1 --max-freed 20G --dry-run')).toEqual({
      verb: 'gc',
      target: { kind: 'host', host: 'ci-1' },
      dryRun: true,
      maxFreedBytes: 20 * 1024 ** 3,
    });
    expect(parseCommand('gc all')).toEqual({ verb: 'gc', target: { kind: 'all' }, dryRun: false });
    expect(parseCommand(['gc', 'ci-2', '--max-freed', '512MiB'])).toMatchObject({ maxFreedBytes: 512 * 1024 ** 2 });
  });

  it('says what a size looks like when --max-freed is not one', () => {
    expect(errorOf('gc ci-1 --max-freed lots')).toBe('--max-freed "lots" is not a size; use a number with K, M, G or T (e.g. 10G)');
    expect(errorOf('gc ci-1 --max-freed 0')).toBe('--max-freed must be more than zero');
    expect(errorOf('gc')).toBe('gc needs <host|all>; usage: gc <host|all> [--max-freed SIZE] [--dry-run]');
    expect(errorOf('gc ci-1 --max-fred 1G')).toBe('unknown option "--max-fred" for gc — did you mean "--max-freed"?');
  });
});

describe('parseCommand for prune --images lru', () => {
  it('reads a free-space target as a share of the disk or as bytes', () => {
    expect(parseCommand('prune ci-3 --images lru --target-free 20%')).toMatchObject({ images: 'lru', targetFree: { percent: 20 } });
    expect(parseCommand('prune ci-3 --images lru --target-free 50G --dry-run')).toMatchObject({
      images: 'lru',
      targetFree: { bytes: 50 * 1024 ** 3 },
      dryRun: true,
    });
  });

  it('needs --target-free with lru and refuses it without', () => {
    expect(errorOf('prune ci-3 --images lru')).toBe('--images lru needs --target-free, e.g. --target-free 20% (or 50G of free space)');
    expect(errorOf('prune ci-3 --target-free 20%')).toBe('--target-free only goes with --images lru');
    expect(errorOf('prune ci-3 --images lru --target-free 99%')).toBe('--target-free "99%" is not valid; expected a share from 1% to 95%');
    expect(errorOf('prune ci-3 --images lru --target-free 0.5%')).toBe('--target-free "0.5%" is not valid; expected a share from 1% to 95%');
    expect(errorOf('prune ci-3 --images lru --target-free plenty')).toBe(
      '--target-free "plenty" is not valid; expected a share of the disk like 20% or free bytes like 50G',
    );
  });
});

describe('parseCommand for any size or free-space target', () => {
  it('gives a number or a one-line UserError, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 12 }), fc.stringMatching(/^[0-9.]{1,12}[kKmMgGtT%]?(i?[bB])?$/)), (value) => {
        for (const words of [
          ['gc', 'ci-1', '--max-freed', value],
          ['prune', 'ci-1', '--images', 'lru', '--target-free', value],
        ]) {
          try {
            const request = parseCommand(words);
            const figure =
              request.verb === 'gc'
                ? request.maxFreedBytes
                : request.verb === 'prune'
                  ? request.targetFree && ('bytes' in request.targetFree ? request.targetFree.bytes : request.targetFree.percent)
                  : undefined;
            expect(Number.isFinite(figure) && figure! > 0).toBe(true);
          } catch (err) {
            expect(err).toBeInstanceOf(UserError);
            expect((err as Error).message).not.toContain('\n');
          }
        }
      }),
      { numRuns: 300 },
    );
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
    expect(() => parseCommand('hosts ../x')).toThrow(
      /^"\.\.\/x" is neither a host state \(healthy, key-changed, unsigned, pending, silent, daemon, disk, expiring\) nor the start of a host name/,
    );
  });
});

describe('parseCommand limits', () => {
  it('refuses --until beyond a year', () => {
    expect(() => parseCommand('prune all --until 400d')).toThrow('--until may be at most 366d');
  });

  it('reads runners with or without a target', () => {
    expect(parseCommand('runners')).toEqual({ verb: 'runners', target: { kind: 'all' } });
    expect(parseCommand('runners all')).toEqual({ verb: 'runners', target: { kind: 'all' } });
    expect(parseCommand('runners ci-2')).toEqual({ verb: 'runners', target: { kind: 'host', host: 'ci-2' } });
  });

  it('reads pause and resume of a host or of one runner by id, with a quoted reason', () => {
    expect(parseCommand('pause ci-2 --reason "disk swap"')).toEqual({ verb: 'pause', target: { kind: 'host', host: 'ci-2' }, reason: 'disk swap' });
    expect(parseCommand('pause #42')).toEqual({ verb: 'pause', target: { kind: 'runner', id: 42 } });
    expect(parseCommand('resume 42')).toEqual({ verb: 'resume', target: { kind: 'runner', id: 42 } });
  });

  it('reads unregister and cleanup-stale with their dry runs and defaults', () => {
    expect(parseCommand('unregister ci-3 --runner old-nix --dry-run')).toEqual({ verb: 'unregister', host: 'ci-3', runner: 'old-nix', dryRun: true });
    expect(parseCommand('cleanup-stale')).toEqual({ verb: 'cleanup-stale', olderThanSeconds: 90 * 86400, dryRun: false });
    expect(parseCommand('cleanup-stale --older-than 180d --dry-run')).toEqual({ verb: 'cleanup-stale', olderThanSeconds: 180 * 86400, dryRun: true });
  });

  it('says in one line what is wrong with runner verbs and what would be right', () => {
    expect(errorOf('pause')).toBe('pause needs <host|runner>; usage: pause <host|runner> [--reason TEXT]');
    expect(errorOf('pause all')).toBe('pause and resume take one host or one runner id, not all; "runners all" lists them');
    expect(errorOf('pause #0')).toBe('runner id "#0" is not valid; expected a GitLab runner id like 123');
    expect(errorOf('pause ci-1 --reason ""')).toBe('--reason must be one line of 1 to 255 characters');
    expect(errorOf('unregister ci-3')).toBe(
      'unregister needs --runner NAME|ID (the runner to delete); usage: unregister <host> [--runner NAME|ID] [--dry-run]',
    );
    expect(errorOf('cleanup-stale --older-than 3d')).toBe('--older-than must be at least 7d: GitLab calls a runner stale only after 7 days without contact');
    expect(errorOf('cleanup-stale --older-than soon')).toMatch(/^--older-than "soon" is not/);
    expect(errorOf('cleanup-stale ci-1')).toBe('unexpected "ci-1" after cleanup-stale; usage: cleanup-stale [--older-than DURATION] [--dry-run]');
    expect(errorOf('runners ci-1 ci-2')).toMatch(/^unexpected "ci-2" after runners/);
    for (const text of ['pause', 'pause all', 'unregister ci-3', 'cleanup-stale --older-than 3d']) expect(errorOf(text)).not.toContain('\n');
  });
});
