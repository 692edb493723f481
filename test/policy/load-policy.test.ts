import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/load-policy.js';

describe('parsePolicy', () => {
  it('fills defaults for everything left out', () => {
    const policy = parsePolicy('roles: {}\n', 'policy.yml');
    expect(policy.approvals.expiry).toBe('30m');
    expect(policy.prune.protectLabel).toBe('runnerops.keep=true');
    expect(policy.schedules).toEqual([]);
  });

  it('names an unknown key and where it is', () => {
    expect(() => parsePolicy('approvals:\n  expiry: 10m\n  expiri: 5m\n', 'policy.yml')).toThrow('policy.yml: unknown key "expiri" in approvals');
  });

  it('names an unknown top-level key', () => {
    expect(() => parsePolicy('rolez: {}\n', 'policy.yml')).toThrow('policy.yml: unknown key "rolez" in (top level)');
  });

  it('refuses a verb that does not exist', () => {
    expect(() => parsePolicy('verbs:\n  prnue: { run: [] }\n', 'policy.yml')).toThrow(/policy.yml: verbs.prnue/);
  });

  it('refuses a role the verbs name but roles do not define', () => {
    expect(() => parsePolicy('verbs:\n  prune: { run: [ops] }\n', 'p.yml')).toThrow('p.yml: verbs.prune.run names role "ops", which roles does not define');
  });

  it('refuses text that is not YAML in one line', () => {
    expect(() => parsePolicy('roles: [unclosed\n', 'p.yml')).toThrow(/^p.yml: not valid YAML/);
  });

  it('explains a bad duration', () => {
    expect(() => parsePolicy('approvals: { expiry: soon }\n', 'p.yml')).toThrow('p.yml: approvals.expiry: expected a duration like 30m, 24h or 7d');
  });
});
