import { policySchema, type Policy } from '../policy/schema.js';

/** The console user of `runnerops dev` when no "as <user>" is given. */
export const DEV_USER = 'dev';

/**
 * The embedded policy of `runnerops dev`: "dev", "alice" and "bob" may run everything; rotations need
 * alice or bob to approve (so "dev" can request one and answer it "as alice"), as do enrolments,
 * unregistrations and stale-runner cleanups.
 */
export const DEV_POLICY: Policy = policySchema.parse({
  roles: {
    operators: { users: [DEV_USER, 'alice', 'bob'] },
    approvers: { users: ['alice', 'bob'] },
  },
  verbs: {
    prune: { run: ['operators'] },
    gc: { run: ['operators'] },
    'restart-daemon': { run: ['operators'] },
    register: { run: ['operators'] },
    rotate: { request: ['operators'], approve: ['approvers'] },
    enroll: { request: ['operators'], approve: ['approvers'] },
    pause: { run: ['operators'] },
    resume: { run: ['operators'] },
    unregister: { request: ['operators'], approve: ['approvers'] },
    'cleanup-stale': { request: ['operators'], approve: ['approvers'] },
  },
  approvals: { expiry: '30m' },
});
