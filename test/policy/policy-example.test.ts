import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/load-policy.js';

describe('docs/policy.example.yml', () => {
  it('is a valid policy that grants what its comments say', async () => {
    const policy = await loadPolicy(new URL('../../docs/policy.example.yml', import.meta.url).pathname);
    expect(policy.verbs.rotate?.approve).toEqual(['approvers']);
    expect(policy.roles.terminal?.users).toEqual(['cli:alice']);
    expect(policy.schedules.map((s) => s.name)).toEqual(['nightly-prune', 'weekly-gc', 'daily-runners', 'weekly-store']);
    expect(policy.schedules.find((s) => s.name === 'weekly-gc')).toMatchObject({ command: 'gc all', enabled: false });
    expect(policy.verbs.gc?.run).toEqual(['operators', 'terminal']);
    expect(policy.watch.gc).toBe(false);
  });
});
