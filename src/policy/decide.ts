import type { Verb } from '../commands/requests.js';
import { findVerb } from '../commands/verbs.js';
import type { Policy } from './schema.js';

export type Decision = { outcome: 'run' } | { outcome: 'request'; approvers: string[] } | { outcome: 'deny'; reason: string };

/** Members of a Slack user group (cached by the caller). */
export type GroupMembers = (groupId: string) => Promise<string[]>;

export async function rolesOf(policy: Policy, user: string, members: GroupMembers): Promise<Set<string>> {
  const roles = new Set<string>();
  for (const [name, role] of Object.entries(policy.roles)) {
    if (role.users.includes(user)) {
      roles.add(name);
      continue;
    }
    for (const group of role.groups) {
      if ((await members(group)).includes(user)) {
        roles.add(name);
        break;
      }
    }
  }
  return roles;
}

function names(roles: string[]): string {
  return roles.map((r) => `"${r}"`).join(' or ');
}

/**
 * May `user` run `verb` in `channel`? Read-only verbs are open unless the policy lists them; mutating
 * verbs need a `run` role, or a `request` role plus someone else's approval (not for a dry run).
 */
export async function decide(
  policy: Policy,
  verb: Verb,
  user: string,
  channel: string | undefined,
  members: GroupMembers,
  options: { dryRun?: boolean } = {},
): Promise<Decision> {
  const spec = findVerb(verb);
  const rule = policy.verbs[verb];
  if (!rule) {
    if (!spec?.mutating) return { outcome: 'run' };
    return {
      outcome: 'deny',
      reason: `nobody may run ${verb} yet: the policy file grants it to no role (set RUNNEROPS_POLICY and add verbs.${verb}.run)`,
    };
  }
  if (channel && rule.channels.length > 0 && !rule.channels.includes(channel)) {
    return { outcome: 'deny', reason: `${verb} is not allowed in this channel; use <#${rule.channels[0]}>` };
  }
  if (!spec?.mutating && rule.run.length === 0 && rule.request.length === 0) return { outcome: 'run' };
  const roles = await rolesOf(policy, user, members);
  // Some verbs never run without a second person's approval, whatever the policy says (their grammar row's `approval`).
  const approval = (spec !== undefined && spec.approval !== 'policy') || rule.approve.length > 0;
  const canRun = rule.run.some((r) => roles.has(r));
  const canRequest = rule.request.some((r) => roles.has(r));
  // A dry run changes nothing: whoever may run or request the verb gets its dry run without an approval.
  if (options.dryRun && (canRun || canRequest)) return { outcome: 'run' };
  if (approval && (canRun || canRequest)) {
    if (rule.approve.length === 0) {
      return { outcome: 'deny', reason: `${verb} needs an approval but the policy names no approver role (add verbs.${verb}.approve)` };
    }
    return { outcome: 'request', approvers: rule.approve };
  }
  if (canRun) return { outcome: 'run' };
  const needed = [...rule.run, ...rule.request];
  return {
    outcome: 'deny',
    reason: needed.length > 0 ? `you may not run ${verb}: it needs the role ${names(needed)}` : `nobody may run ${verb}: the policy grants it to no role`,
  };
}

/** The person an identity belongs to (policy `people:`), or the identity itself when no person lists it. */
export function personOf(policy: Pick<Policy, 'people'>, user: string): string {
  for (const [name, person] of Object.entries(policy.people)) if (person.identities.includes(user)) return name;
  return user;
}

/** May `user` approve a request for `verb` made by `requester`? Compared as people, not identities. */
export async function mayApprove(
  policy: Policy,
  verb: Verb,
  user: string,
  requester: string,
  members: GroupMembers,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (personOf(policy, user) === personOf(policy, requester)) return { ok: false, reason: 'you asked for this yourself; someone else must approve it' };
  const approvers = policy.verbs[verb]?.approve ?? [];
  const roles = await rolesOf(policy, user, members);
  if (approvers.some((r) => roles.has(r))) return { ok: true };
  return { ok: false, reason: approvers.length > 0 ? `approving ${verb} needs the role ${names(approvers)}` : `nobody may approve ${verb}` };
}
