import { VERBS } from '../commands/verbs.js';
import { policySchema, type Policy } from '../policy/schema.js';

/** The console user of `runnerops dev` when no "as <user>" is given. */
export const DEV_USER = 'dev';

/**
 * The embedded policy of `runnerops dev`: "dev", "alice" and "bob" may run everything; rotations need
 * alice or bob to approve (so "dev" can request one and answer it "as alice"), as do enrolments,
 * unregistrations and stale-runner cleanups: every verb whose grammar row says it always needs an approval.
 * A new mutating verb is granted here by its row alone.
 */
export const DEV_POLICY: Policy = policySchema.parse({
  roles: {
    operators: { users: [DEV_USER, 'alice', 'bob'] },
    approvers: { users: ['alice', 'bob'] },
  },
  verbs: Object.fromEntries(
    VERBS.filter((spec) => spec.mutating).map((spec) => [
      spec.verb,
      spec.approval === 'policy' ? { run: ['operators'] } : { request: ['operators'], approve: ['approvers'] },
    ]),
  ),
  approvals: { expiry: '30m' },
});
