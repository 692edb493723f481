import { describe, expect, it } from 'vitest';
import { DEV_POLICY } from '../../src/dev/dev-policy.js';

describe('DEV_POLICY', () => {
  it('lets operators run the mutating verbs and has approvers approve the ones that always need an approval', () => {
    const grants = Object.fromEntries(
      Object.entries(DEV_POLICY.verbs).map(([verb, rule]) => [verb, { run: rule.run, request: rule.request, approve: rule.approve }]),
    );
    const run = { run: ['operators'], request: [], approve: [] };
    const ask = { run: [], request: ['operators'], approve: ['approvers'] };
    expect(grants).toEqual({
      prune: run,
      gc: run,
      'restart-daemon': run,
      register: run,
      rotate: ask,
      enroll: ask,
      pause: run,
      resume: run,
      unregister: ask,
      'cleanup-stale': ask,
    });
  });
});
