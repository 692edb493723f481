import type { Request, RequestOf } from '../commands/requests.js';
import { parseDuration } from '../commands/duration.js';
import type { Policy } from '../policy/schema.js';
import type { HostStatus, RunnerSummary } from '../queue/host-registry.js';
import { requireHost, resolveTarget } from './resolve-target.js';
import { UserError } from '../errors.js';
import type { FrozenPlan } from '../approvals/approval-seal.js';
import type { StaleRunner } from '../clients/gitlab/stale-runners.js';

/** Which job a queueing verb becomes, on which hosts, with which payload (its row in verb-table.ts names the planner). */
export interface JobPlan {
  job: string;
  hosts: string[];
  control: boolean;
  payloadFor: (host: string, commandId: string) => unknown;
  /** What the approver must know besides the command (shown with an approval request). */
  note?: string;
}

/** The row of a control job about GitLab as a whole (not one host): `runners all`, `cleanup-stale`, a runner by id. */
export const GITLAB_ROW = 'gitlab';

/** What planning needs besides the request and the hosts. */
export interface PlanContext {
  /** Who asked (named in maintenance notes). */
  requester?: string;
  /** `cleanup-stale`: the stale runners found for the approval to freeze. */
  stale?: StaleRunner[];
}

/** Hosts that carry each runner id in their config.toml. */
function hostsOfRunners(hosts: HostStatus[]): Map<number, string[]> {
  const of = new Map<number, string[]>();
  for (const h of hosts) for (const r of h.runners ?? []) if (r.id !== undefined) of.set(r.id, [...(of.get(r.id) ?? []), h.name]);
  return of;
}

/** How a verb's request becomes its jobs, filling defaults from the policy; unknown hosts are refused. */
export type PlanJobs<V extends Request['verb']> = (request: RequestOf<V>, hosts: HostStatus[], policy: Policy, now: number, context: PlanContext) => JobPlan;

export const planPause: PlanJobs<'pause' | 'resume'> = (request, hosts, _policy, _now, context) => {
  const requester = context.requester ?? 'someone';
  const carriers = hostsOfRunners(hosts);
  let runnerIds: number[];
  let row: string;
  if (request.target.kind === 'runner') {
    runnerIds = [request.target.id];
    row = GITLAB_ROW;
  } else {
    const host = requireHost(request.target.host, hosts);
    runnerIds = [...new Set((host.runners ?? []).map((r) => r.id).filter((id): id is number => id !== undefined))];
    if (runnerIds.length === 0) {
      throw new UserError(
        host.runners === undefined
          ? `${host.name} has not reported its runners yet; wait for its worker, or ${request.verb} one runner by id ("runners all" lists them)`
          : `${host.name} has no runner with a GitLab id in its config.toml; "runners ${host.name}" shows what it has`,
      );
    }
    row = host.name;
  }
  const hostsOf = Object.fromEntries(runnerIds.map((id) => [String(id), carriers.get(id) ?? []]));
  return {
    job: 'pause-runners',
    hosts: [row],
    control: true,
    payloadFor: () => ({
      runnerIds,
      paused: request.verb === 'pause',
      requestedBy: requester,
      hostsOf,
      ...(request.reason !== undefined ? { reason: request.reason } : {}),
    }),
  };
};

/**
 * A rotation names a runner the host reported (by name or id); refused before anyone is asked to
 * approve it. Hosts that have not reported their runners yet are let through (the job checks again).
 */
function requireRunner(host: HostStatus, runner: string | undefined): RunnerSummary | undefined {
  const known = host.runners;
  if (!known) return undefined;
  if (known.length === 0) throw new UserError(`${host.name} has no runners in its config.toml; register one with "register ${host.name} --type ..."`);
  if (runner === undefined) {
    if (known.length > 1) throw new UserError(`${host.name} has ${known.length} runners; say which with --runner (${known.map((r) => r.name).join(', ')})`);
    return known[0];
  }
  const found = known.find((r) => r.name === runner || (r.id !== undefined && String(r.id) === runner));
  if (!found) {
    throw new UserError(
      `unknown runner "${runner}" on ${host.name}; known: ${known.map((r) => (r.id !== undefined ? `${r.name} (#${r.id})` : r.name)).join(', ')}`,
    );
  }
  return found;
}

export const planRunners: PlanJobs<'runners'> = (request, hosts) => {
  if (request.target.kind === 'all') return { job: 'list-runners', hosts: [GITLAB_ROW], control: true, payloadFor: () => ({}) };
  const host = requireHost(request.target.host, hosts);
  return { job: 'list-runners', hosts: [host.name], control: true, payloadFor: () => ({ host: host.name }) };
};

export const planUnregister: PlanJobs<'unregister'> = (request, hosts) => {
  const host = requireHost(request.host, hosts);
  const runner = requireRunner(host, request.runner);
  if (!runner) throw new UserError(`${host.name} has not reported its runners yet; wait for its worker, then unregister again`);
  if (runner.id === undefined)
    throw new UserError(`runner "${runner.name}" on ${host.name} has no GitLab id in config.toml, so there is nothing to delete in GitLab`);
  const runnerId = runner.id;
  // One runner in several hosts' config.toml: deleting it in GitLab stops it on all of them.
  const alsoOn = hosts.filter((h) => h.name !== host.name && (h.runners ?? []).some((r) => r.id === runnerId)).map((h) => h.name);
  const payload = { host: host.name, runnerId, runner: runner.name, dryRun: request.dryRun, alsoOn };
  return {
    job: 'unregister-runner',
    hosts: [host.name],
    control: true,
    payloadFor: () => payload,
    ...(alsoOn.length > 0 ? { note: `runner #${runnerId} is also on ${alsoOn.join(', ')}: it stops working there too` } : {}),
  };
};

export const planCleanupStale: PlanJobs<'cleanup-stale'> = (request, _hosts, _policy, now, context) => {
  const cutoff = now - request.olderThanSeconds * 1000;
  if (!request.dryRun && context.stale === undefined) throw new UserError('cleanup-stale needs the list of stale runners to ask for an approval; try again');
  const payload = { cutoff, dryRun: request.dryRun, ...(request.dryRun ? {} : { runners: context.stale }) };
  return { job: 'cleanup-stale-runners', hosts: [GITLAB_ROW], control: true, payloadFor: () => payload };
};

export const planPing: PlanJobs<'ping'> = (request, hosts, _policy, now) => ({
  job: 'ping',
  hosts: resolveTarget(request.target, hosts),
  control: false,
  payloadFor: () => ({ sentAt: now }),
});

export const planStore: PlanJobs<'store'> = (request, hosts) => ({
  job: 'store-usage',
  hosts: resolveTarget(request.target, hosts),
  control: false,
  payloadFor: () => ({ top: request.top }),
});

export const planPrune: PlanJobs<'prune'> = (request, hosts, policy) => ({
  job: 'prune-docker',
  hosts: resolveTarget(request.target, hosts),
  control: false,
  payloadFor: () => ({
    dryRun: request.dryRun,
    untilSeconds: request.untilSeconds ?? parseDuration(policy.prune.until, 'policy prune.until'),
    volumes: request.volumes,
    namedVolumes: policy.prune.namedVolumes,
    images: request.images ?? policy.prune.images,
    ...(request.targetFree === undefined
      ? {}
      : 'percent' in request.targetFree
        ? { targetFreePercent: request.targetFree.percent }
        : { targetFreeBytes: request.targetFree.bytes }),
    buildCache: request.buildCache,
    protectLabel: policy.prune.protectLabel,
  }),
});

export const planGc: PlanJobs<'gc'> = (request, hosts) => ({
  job: 'gc-store',
  hosts: resolveTarget(request.target, hosts),
  control: false,
  payloadFor: () => ({ dryRun: request.dryRun, ...(request.maxFreedBytes === undefined ? {} : { maxFreedBytes: request.maxFreedBytes }) }),
});

export const planRestartDaemon: PlanJobs<'restart-daemon'> = (request, hosts) => {
  const host = requireHost(request.host, hosts);
  if (!request.drain) {
    return { job: 'restart-nix-daemon', hosts: [host.name], control: false, payloadFor: () => ({ timeoutSeconds: request.timeoutSeconds }) };
  }
  const runnerIds = (host.runners ?? []).map((r) => r.id).filter((id): id is number => typeof id === 'number');
  return {
    job: 'restart-drained',
    hosts: [host.name],
    control: true,
    payloadFor: (_host, commandId) => ({ host: host.name, runnerIds, timeoutSeconds: request.timeoutSeconds, requestId: commandId }),
  };
};

export const planRegister: PlanJobs<'register'> = (request, hosts) => {
  const host = requireHost(request.host, hosts);
  const { verb: _verb, host: _host, ...options } = request;
  return {
    job: 'register-runner',
    hosts: [host.name],
    control: true,
    payloadFor: (_host, commandId) => ({ host: host.name, ...options, requestId: commandId }),
  };
};

export const planRotate: PlanJobs<'rotate'> = (request, hosts, _policy, now) => {
  const host = requireHost(request.host, hosts);
  const runner = requireRunner(host, request.runner);
  // An expired token cannot reset itself: the bot resets it by id and seals the new one to the host.
  if (runner?.id !== undefined && runner.tokenExpiresAt !== undefined && Date.parse(runner.tokenExpiresAt) <= now) {
    const runnerId = runner.id;
    return {
      job: 'revive-runner-token',
      hosts: [host.name],
      control: true,
      payloadFor: (_host, commandId) => ({ host: host.name, runnerId, requestId: commandId }),
    };
  }
  return {
    job: 'rotate-token',
    hosts: [host.name],
    control: false,
    payloadFor: (_host, commandId) => ({ requestId: commandId, ...(request.runner ? { runner: request.runner } : {}) }),
  };
};

/** A plan as an approval keeps it: the payload of every host, computed once with the approval's command id. */
export function freezePlan(plan: JobPlan, commandId: string): FrozenPlan {
  return {
    kind: 'jobs',
    job: plan.job,
    control: plan.control,
    hosts: plan.hosts,
    payloads: Object.fromEntries(plan.hosts.map((h) => [h, plan.payloadFor(h, commandId)])),
  };
}

/**
 * What `enroll <host>` would trust: the fingerprint the host presents now, which must equal the one
 * the operator typed (when they did) and must not be enrolled already.
 */
export function planEnrolment(request: RequestOf<'enroll'>, hosts: HostStatus[]): Extract<FrozenPlan, { kind: 'enrol' }> {
  const host = requireHost(request.host, hosts, { enrolled: false });
  if (!host.fingerprint) throw new UserError(`${host.name} publishes no signed key; upgrade and restart its worker, then enrol it`);
  if (request.fingerprint !== undefined && request.fingerprint !== host.fingerprint) {
    throw new UserError(
      `${host.name} presents ${host.fingerprint}, not the ${request.fingerprint} you gave; run "runnerops fingerprint" on the host itself and compare`,
    );
  }
  if (host.trust === 'enrolled') throw new UserError(`${host.name} is already enrolled with ${host.fingerprint}`);
  return { kind: 'enrol', host: host.name, fingerprint: host.fingerprint };
}
