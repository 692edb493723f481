import { describe, expect, it } from 'vitest';
import type { GitlabRunner } from '../../src/clients/gitlab/list-runners.js';
import { joinRunners } from '../../src/reports/runner-view.js';

const runner = (id: number, fields: Partial<GitlabRunner> = {}): GitlabRunner => ({
  id,
  description: `r${id}`,
  type: 'instance_type',
  paused: false,
  status: 'online',
  contactedAt: null,
  createdAt: null,
  version: null,
  maintenanceNote: '',
  tokenExpiresAt: null,
  managers: [],
  ...fields,
});

describe('joinRunners', () => {
  it('says an entry is unknown to GitLab only when GitLab answered 404 for it, not when the token cannot see it', () => {
    const view = joinRunners({ runners: [], scope: 'owned', missing: [2] }, [
      { name: 'ci-1', runners: [{ name: 'gone', id: 2 }, { name: 'hidden', id: 3 }, { name: 'no id' }] },
    ]);
    expect(view.mismatches).toEqual([
      { kind: 'unknown-to-gitlab', host: 'ci-1', runner: 'gone', id: 2 },
      { kind: 'unknown-to-gitlab', host: 'ci-1', runner: 'no id' },
    ]);
  });

  it('says a runner is on no host only when the token saw every runner', () => {
    expect(joinRunners({ runners: [runner(1)], scope: 'all', missing: [] }, []).mismatches).toEqual([
      { kind: 'on-no-host', id: 1, description: 'r1', status: 'online' },
    ]);
    expect(joinRunners({ runners: [runner(1)], scope: 'owned', missing: [] }, []).mismatches).toEqual([]);
  });

  it('finds one token on two hosts by its fingerprint and maps managers to hosts by system id', () => {
    const hosts = [
      { name: 'ci-1', systemId: 's_111111111111', runners: [{ name: 'nix', id: 1, tokenFingerprint: 'aaaa', tokenExpiresAt: '2030-01-01T00:00:00.000Z' }] },
      { name: 'ci-2', systemId: 's_222222222222', runners: [{ name: 'nix', id: 1, tokenFingerprint: 'aaaa' }] },
      { name: 'ci-3', runners: [{ name: 'own', id: 4, tokenFingerprint: 'bbbb' }] },
    ];
    const managers = [
      { systemId: 's_111111111111', version: '17.5.0', contactedAt: null },
      { systemId: 's_999999999999', version: null, contactedAt: null },
    ];
    const view = joinRunners({ runners: [runner(1, { managers }), runner(4, { status: 'stale', paused: true })], scope: 'all', missing: [] }, hosts);
    expect(view.runners[0]).toMatchObject({ hosts: ['ci-1', 'ci-2'], version: '17.5.0', tokenExpiresAt: '2030-01-01T00:00:00.000Z' });
    expect(view.runners[0]?.managers.map((m) => m.host)).toEqual(['ci-1', undefined]);
    expect(view.mismatches).toEqual([{ kind: 'shared-token', hosts: ['ci-1', 'ci-2'], runners: ['nix'], id: 1 }]);
    expect(view.counts).toEqual({ online: 1, offline: 0, stale: 1, never_contacted: 0 });
    expect(view.paused).toBe(1);

    const one = joinRunners({ runners: [runner(1, { managers }), runner(4)], scope: 'all', missing: [] }, hosts, { host: 'ci-3' });
    expect(one.runners.map((r) => r.id)).toEqual([4]);
    expect(one.mismatches).toEqual([]);
  });
});
