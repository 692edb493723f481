import { describe, expect, it } from 'vitest';
import { EMPTY_POLICY } from '../../src/policy/load-policy.js';
import { hostStatus, type HostEntry, type HostStatus } from '../../src/queue/host-registry.js';
import { planEnrolment } from '../../src/verbs/plan-job.js';
import { planJob } from '../../src/verbs/verb-table.js';

/** An enrolled host (the bot only plans jobs for enrolled hosts). */
const host = (runners?: HostEntry['runners'], extra: Partial<HostStatus> = {}): HostStatus => ({
  ...hostStatus(
    {
      name: 'ci-1',
      versions: { runnerops: '0' },
      labels: {},
      publicKey: null,
      startedAt: 0,
      lastHeartbeat: Date.now(),
      heartbeatSeconds: 5,
      ...(runners ? { runners } : {}),
    },
    Date.now(),
  ),
  trust: 'enrolled',
  fingerprint: FP,
  ...extra,
});
const FP = `SHA256:${'a'.repeat(43)}`;
const OTHER = `SHA256:${'b'.repeat(43)}`;

describe('planJob', () => {
  it('refuses to rotate a runner the host does not have, naming the ones it has', () => {
    expect(() => planJob({ verb: 'rotate', host: 'ci-1', runner: 'nope' }, [host([{ name: 'nix', id: 7 }])], EMPTY_POLICY)).toThrow(
      'unknown runner "nope" on ci-1; known: nix (#7)',
    );
  });

  it('accepts a runner by id', () => {
    expect(planJob({ verb: 'rotate', host: 'ci-1', runner: '7' }, [host([{ name: 'nix', id: 7 }])], EMPTY_POLICY).job).toBe('rotate-token');
  });

  it('revives an expired token through the bot instead of rotating it on the host', () => {
    const plan = planJob(
      { verb: 'rotate', host: 'ci-1', runner: '7' },
      [host([{ name: 'nix', id: 7, tokenExpiresAt: '2026-01-01T00:00:00Z' }])],
      EMPTY_POLICY,
      Date.parse('2026-02-01T00:00:00Z'),
    );
    expect({ job: plan.job, control: plan.control, payload: plan.payloadFor('ci-1', 'c9') }).toEqual({
      job: 'revive-runner-token',
      control: true,
      payload: { host: 'ci-1', runnerId: 7, requestId: 'c9' },
    });
    const fresh = planJob(
      { verb: 'rotate', host: 'ci-1' },
      [host([{ name: 'nix', id: 7, tokenExpiresAt: '2026-03-01T00:00:00Z' }])],
      EMPTY_POLICY,
      Date.parse('2026-02-01T00:00:00Z'),
    );
    expect(fresh.job).toBe('rotate-token');
  });

  it('asks which runner when the host has several', () => {
    expect(() => planJob({ verb: 'rotate', host: 'ci-1' }, [host([{ name: 'a' }, { name: 'b' }])], EMPTY_POLICY)).toThrow(
      'ci-1 has 2 runners; say which with --runner (a, b)',
    );
  });

  it('lets a rotation through while the host has not reported its runners yet', () => {
    expect(planJob({ verb: 'rotate', host: 'ci-1' }, [host()], EMPTY_POLICY).hosts).toEqual(['ci-1']);
  });

  it('fills prune defaults from the policy', () => {
    const plan = planJob({ verb: 'prune', target: { kind: 'all' }, dryRun: true, volumes: false, buildCache: false }, [host()], EMPTY_POLICY);
    expect(plan.payloadFor('ci-1', 'c1')).toEqual({
      dryRun: true,
      untilSeconds: 86400,
      volumes: false,
      namedVolumes: false,
      images: 'dangling',
      buildCache: false,
      protectLabel: 'runnerops.keep=true',
    });
  });

  it('carries an LRU free-space target into the prune payload, as a share or as bytes', () => {
    const prune = { verb: 'prune', target: { kind: 'host', host: 'ci-1' }, dryRun: false, volumes: false, buildCache: false, images: 'lru' } as const;
    expect(planJob({ ...prune, targetFree: { percent: 20 } }, [host()], EMPTY_POLICY).payloadFor('ci-1', 'c1')).toMatchObject({
      images: 'lru',
      targetFreePercent: 20,
    });
    expect(planJob({ ...prune, targetFree: { bytes: 1024 } }, [host()], EMPTY_POLICY).payloadFor('ci-1', 'c1')).toMatchObject({
      images: 'lru',
      targetFreeBytes: 1024,
    });
  });

  it('turns gc into one gc-store job per host with its dry run and limit', () => {
    const plan = planJob({ verb: 'gc', target: { kind: 'all' }, dryRun: true, maxFreedBytes: 2048 }, [host()], EMPTY_POLICY);
    expect({ job: plan.job, hosts: plan.hosts, control: plan.control, payload: plan.payloadFor('ci-1', 'c1') }).toEqual({
      job: 'gc-store',
      hosts: ['ci-1'],
      control: false,
      payload: { dryRun: true, maxFreedBytes: 2048 },
    });
  });
});

describe('planJob on hosts that are not enrolled', () => {
  it('refuses a pending host by name, saying how to enrol it, and leaves it out of all', () => {
    const pending = host(undefined, { name: 'ci-2', trust: 'pending', fingerprint: OTHER });
    expect(() => planJob({ verb: 'ping', target: { kind: 'host', host: 'ci-2' } }, [host(), pending], EMPTY_POLICY)).toThrow(
      `ci-2 is not enrolled yet (key ${OTHER}); an operator confirms that fingerprint on the host ("runnerops fingerprint") and enrols it with "enroll ci-2"`,
    );
    expect(planJob({ verb: 'ping', target: { kind: 'all' } }, [host(), pending], EMPTY_POLICY).hosts).toEqual(['ci-1']);
  });

  it('refuses a host whose key changed since it was enrolled', () => {
    const changed = host(undefined, { trust: 'key-changed', fingerprint: OTHER, enrolledFingerprint: FP });
    expect(() => planJob({ verb: 'rotate', host: 'ci-1' }, [changed], EMPTY_POLICY)).toThrow(`ci-1 now presents key ${OTHER}, not the enrolled ${FP}`);
  });
});

describe('planEnrolment', () => {
  it('freezes the fingerprint the host presents, and refuses one that differs from what the operator typed', () => {
    const pending = host(undefined, { trust: 'pending' });
    expect(planEnrolment({ verb: 'enroll', host: 'ci-1' }, [pending])).toEqual({ kind: 'enrol', host: 'ci-1', fingerprint: FP });
    expect(planEnrolment({ verb: 'enroll', host: 'ci-1', fingerprint: FP }, [pending]).kind).toBe('enrol');
    expect(() => planEnrolment({ verb: 'enroll', host: 'ci-1', fingerprint: OTHER }, [pending])).toThrow(`ci-1 presents ${FP}, not the ${OTHER} you gave`);
  });

  it('refuses an enrolled host and one without a signed key', () => {
    expect(() => planEnrolment({ verb: 'enroll', host: 'ci-1' }, [host()])).toThrow(`ci-1 is already enrolled with ${FP}`);
    const unsigned = host(undefined, { trust: 'unsigned', fingerprint: undefined });
    expect(() => planEnrolment({ verb: 'enroll', host: 'ci-1' }, [unsigned])).toThrow('ci-1 publishes no signed key');
  });
});

describe('planJob for the runner verbs', () => {
  const other = (runners: HostEntry['runners']): HostStatus => ({ ...host(runners), name: 'ci-2' });

  it('plans runners all as one control job about GitLab, and runners <host> for that host', () => {
    const all = planJob({ verb: 'runners', target: { kind: 'all' } }, [host([])], EMPTY_POLICY);
    expect({ job: all.job, control: all.control, hosts: all.hosts, payload: all.payloadFor('gitlab', 'c1') }).toEqual({
      job: 'list-runners',
      control: true,
      hosts: ['gitlab'],
      payload: {},
    });
    expect(planJob({ verb: 'runners', target: { kind: 'host', host: 'ci-1' } }, [host([])], EMPTY_POLICY).payloadFor('ci-1', 'c1')).toEqual({ host: 'ci-1' });
    expect(() => planJob({ verb: 'runners', target: { kind: 'host', host: 'ci-9' } }, [host([])], EMPTY_POLICY)).toThrow('unknown host "ci-9"; known: ci-1');
  });

  it("pauses a host's runners by their ids and names the other hosts that carry one", () => {
    const plan = planJob(
      { verb: 'pause', target: { kind: 'host', host: 'ci-1' }, reason: 'disk' },
      [
        host([
          { name: 'a', id: 7 },
          { name: 'b', id: 8 },
        ]),
        other([{ name: 'a', id: 7 }]),
      ],
      EMPTY_POLICY,
      Date.now(),
      { requester: 'U0OPS' },
    );
    expect(plan.payloadFor('ci-1', 'c1')).toEqual({
      runnerIds: [7, 8],
      paused: true,
      reason: 'disk',
      requestedBy: 'U0OPS',
      hostsOf: { '7': ['ci-1', 'ci-2'], '8': ['ci-1'] },
    });
  });

  it('refuses to pause a host without runner ids, saying what to do', () => {
    expect(() => planJob({ verb: 'pause', target: { kind: 'host', host: 'ci-1' } }, [host([{ name: 'a' }])], EMPTY_POLICY)).toThrow(
      'ci-1 has no runner with a GitLab id in its config.toml; "runners ci-1" shows what it has',
    );
    expect(() => planJob({ verb: 'resume', target: { kind: 'host', host: 'ci-1' } }, [host()], EMPTY_POLICY)).toThrow(/^ci-1 has not reported its runners yet/);
  });

  it('plans unregister for a runner the host carries, and refuses one it does not', () => {
    const plan = planJob({ verb: 'unregister', host: 'ci-1', runner: 'nix', dryRun: false }, [host([{ name: 'nix', id: 7 }])], EMPTY_POLICY);
    expect({ job: plan.job, control: plan.control, payload: plan.payloadFor('ci-1', 'c1'), note: plan.note }).toEqual({
      job: 'unregister-runner',
      control: true,
      payload: { host: 'ci-1', runnerId: 7, runner: 'nix', dryRun: false, alsoOn: [] },
      note: undefined,
    });
    const shared = planJob(
      { verb: 'unregister', host: 'ci-1', runner: 'nix', dryRun: false },
      [host([{ name: 'nix', id: 7 }]), other([{ name: 'nix', id: 7 }])],
      EMPTY_POLICY,
    );
    expect(shared.note).toBe('runner #7 is also on ci-2: it stops working there too');
    expect(shared.payloadFor('ci-1', 'c1')).toMatchObject({ alsoOn: ['ci-2'] });
    expect(() => planJob({ verb: 'unregister', host: 'ci-1', runner: 'old', dryRun: true }, [host([{ name: 'nix', id: 7 }])], EMPTY_POLICY)).toThrow(
      'unknown runner "old" on ci-1; known: nix (#7)',
    );
  });

  it('freezes the stale list a cleanup-stale was approved with, and needs none for its dry run', () => {
    const now = Date.parse('2026-06-01T00:00:00Z');
    const stale = [{ id: 5, description: 'old', type: 'instance_type', contactedAt: '2026-01-01T00:00:00Z', createdAt: null }];
    const plan = planJob({ verb: 'cleanup-stale', olderThanSeconds: 90 * 86400, dryRun: false }, [], EMPTY_POLICY, now, { stale });
    expect(plan.payloadFor('gitlab', 'c1')).toEqual({ cutoff: now - 90 * 86400_000, dryRun: false, runners: stale });
    expect(planJob({ verb: 'cleanup-stale', olderThanSeconds: 90 * 86400, dryRun: true }, [], EMPTY_POLICY, now).payloadFor('gitlab', 'c1')).toEqual({
      cutoff: now - 90 * 86400_000,
      dryRun: true,
    });
  });
});
