import { describe, expect, it } from 'vitest';
import { findControlJob } from '../../jobs/control/index.js';
import { findHostJob } from '../../jobs/index.js';
import { parseCommand } from '../../src/commands/parse.js';
import type { Verb } from '../../src/commands/requests.js';
import { VERBS } from '../../src/commands/verbs.js';
import { EMPTY_POLICY } from '../../src/policy/load-policy.js';
import { helpText } from '../../src/present/help.js';
import { JOBS_NEEDING_APPROVAL, JOBS_NEEDING_APPROVAL_UNLESS_DRY_RUN } from '../../src/queue/envelope.js';
import { hostStatus, type HostStatus } from '../../src/queue/host-registry.js';
import { JOB_SPECS } from '../../src/queue/payloads/index.js';
import { isQueueing, reportOf, rowOf, VERB_TABLE, type VerbRow } from '../../src/verbs/verb-table.js';

const verbs = Object.keys(VERB_TABLE) as Verb[];
const rows = verbs.map((verb): [Verb, VerbRow<Verb>] => [verb, rowOf(verb)]);
const jobsOf = (row: VerbRow<Verb>): readonly string[] => (row.kind === 'jobs' ? row.jobs : []);
const stepsOf = (row: VerbRow<Verb>): readonly string[] => (row.kind === 'jobs' ? (row.approvedSteps ?? []) : []);
const grammar = (verb: Verb) => VERBS.find((spec) => spec.verb === verb)!;

/** Enrolled hosts carrying the runners the grammar's examples name. */
const hosts: HostStatus[] = ['ci-1', 'ci-2', 'ci-3', 'ci-4'].map((name) => ({
  ...hostStatus(
    {
      name,
      versions: { runnerops: '0' },
      labels: {},
      publicKey: null,
      startedAt: 0,
      lastHeartbeat: Date.now(),
      heartbeatSeconds: 5,
      runners: [
        { name: 'nix', id: 7 },
        { name: 'old-nix', id: 8 },
      ],
    },
    Date.now(),
  ),
  trust: 'enrolled',
  fingerprint: `SHA256:${'a'.repeat(43)}`,
}));

describe('VERB_TABLE', () => {
  it('has exactly one grammar row and one bot row for every verb of the Request union', () => {
    const grammarVerbs = VERBS.map((spec) => spec.verb);
    expect(new Set(grammarVerbs).size).toBe(grammarVerbs.length);
    expect([...grammarVerbs].sort()).toEqual([...verbs].sort());
  });

  it('names only jobs that have a payload spec and a job file', () => {
    for (const [, row] of rows) {
      for (const job of [...jobsOf(row), ...stepsOf(row)]) {
        expect(JOB_SPECS.has(job), job).toBe(true);
        expect(findHostJob(job) ?? findControlJob(job), job).toBeDefined();
      }
    }
  });

  it("plans each queueing verb's example as one of the jobs its row names", () => {
    for (const spec of VERBS) {
      const row = rowOf(spec.verb);
      if (row.kind !== 'jobs') continue;
      const request = parseCommand(spec.example);
      expect(isQueueing(request)).toBe(true);
      const plan = row.plan(request, hosts, EMPTY_POLICY, Date.now(), { requester: 'U1' });
      expect(row.jobs, spec.example).toContain(plan.job);
      expect(JOB_SPECS.get(plan.job)?.control, spec.example).toBe(plan.control);
    }
  });

  it('is what the worker requires an approval for: always for the jobs of always-approved verbs and their steps, unless a dry run for the others', () => {
    const always = rows.filter(([verb]) => grammar(verb).approval === 'always').flatMap(([, row]) => jobsOf(row));
    const steps = rows.flatMap(([, row]) => stepsOf(row));
    const unlessDryRun = rows.filter(([verb]) => grammar(verb).approval === 'always unless dry run').flatMap(([, row]) => jobsOf(row));
    expect(new Set([...always, ...steps])).toEqual(JOBS_NEEDING_APPROVAL);
    expect(new Set(unlessDryRun)).toEqual(JOBS_NEEDING_APPROVAL_UNLESS_DRY_RUN);
  });

  it('lets a verb skip its approval for a dry run only when it has --dry-run, and asks approvals only of mutating verbs', () => {
    for (const spec of VERBS) {
      if (spec.approval === 'always unless dry run') expect(spec.flags['dry-run'], spec.verb).toEqual({ type: 'boolean' });
      if (spec.approval !== 'policy') expect(spec.mutating, spec.verb).toBe(true);
    }
  });
});

describe('helpText', () => {
  it('lists every row of the table and explains each', () => {
    const lines = helpText().split('\n');
    for (const verb of verbs) {
      expect(
        lines.some((line) => line.startsWith(`/runner ${verb.padEnd(15)} `)),
        verb,
      ).toBe(true);
      expect(helpText(verb)).toContain(grammar(verb).description);
    }
  });
});

describe('reportOf', () => {
  it("gives the report a verb's row names, and each host's line for any other command", () => {
    expect(reportOf('prune')).toBe('prune');
    expect(reportOf('store')).toBe('store');
    expect(reportOf('ping')).toBe('rows');
    expect(reportOf('no-such-verb')).toBe('rows');
  });
});
