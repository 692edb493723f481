import type { FrozenPlan } from '../approvals/approval-seal.js';
import type { Request, RequestOf, Verb } from '../commands/requests.js';
import { findVerb, type VerbSpec } from '../commands/verbs.js';
import type { Policy } from '../policy/schema.js';
import type { HostStatus } from '../queue/host-registry.js';
import { answerAudit, answerHelp, answerHosts, answerJob, answerJobs, answerSchedules, type Answer } from './answer.js';
import type { ExecuteDeps } from './execute-deps.js';
import { findStaleFirst, type Prepared } from './find-stale-first.js';
import {
  planCleanupStale,
  planEnrolment,
  planGc,
  planPause,
  planPing,
  planPrune,
  planRegister,
  planRestartDaemon,
  planRotate,
  planRunners,
  planStore,
  planUnregister,
  type JobPlan,
  type PlanContext,
  type PlanJobs,
} from './plan-job.js';

/** The report a schedule posts for a verb's command (src/schedule/run-scheduled-command.ts renders it). */
export type ReportKind = 'rows' | 'prune' | 'store';

/** A verb that queues nothing: it answers in text at once. */
export interface AnswerRow<V extends Verb> {
  kind: 'answer';
  answer(deps: ExecuteDeps, request: RequestOf<V>): ReturnType<Answer<V>>;
}

/** A verb that becomes jobs: queued at once, or frozen into an approval when the policy asks for one. */
export interface JobsRow<V extends Verb> {
  kind: 'jobs';
  /** Every job its plan may choose (names of src/queue/payloads). */
  jobs: readonly string[];
  /** Host jobs its jobs run as steps that a host refuses without the approval (src/queue/envelope.ts). */
  approvedSteps?: readonly string[];
  plan(...args: Parameters<PlanJobs<V>>): JobPlan;
  /** What to read before planning (and before an approval is asked for). @defaultValue nothing */
  prepare?(deps: ExecuteDeps, request: RequestOf<V>, now: number): Promise<Prepared>;
  /** The report a schedule posts. @defaultValue `rows`: each host's one-line result */
  report?: ReportKind;
}

/** A verb that is nothing but an approval: its plan is frozen, and what the approver reads is its text. */
export interface ApprovalRow<V extends Verb> {
  kind: 'approval';
  freeze(request: RequestOf<V>, hosts: HostStatus[]): { plan: FrozenPlan; text: string };
}

/**
 * The bot side of a verb's row. Its grammar side (words, flags, help, default policy rule, how the words
 * become a request) is the verb's entry in src/commands/verbs.ts, which the parser and the policy read
 * from below this layer; `grammarOf` joins the two.
 */
export type VerbRow<V extends Verb> = AnswerRow<V> | JobsRow<V> | ApprovalRow<V>;

/**
 * One row per verb: how it is answered, planned or frozen for an approval, which jobs it may queue, and
 * the report a schedule posts for it. The type holds a row for every verb of the Request union, so a
 * new verb does not compile until it has one. Add a verb: its grammar row in src/commands/verbs.ts (with
 * its request in requests.ts), its row here, and its job file in jobs/.
 */
export const VERB_TABLE = {
  help: { kind: 'answer', answer: answerHelp },
  hosts: { kind: 'answer', answer: answerHosts },
  ping: { kind: 'jobs', jobs: ['ping'], plan: planPing },
  store: { kind: 'jobs', jobs: ['store-usage'], plan: planStore, report: 'store' },
  prune: { kind: 'jobs', jobs: ['prune-docker'], plan: planPrune, report: 'prune' },
  gc: { kind: 'jobs', jobs: ['gc-store'], plan: planGc },
  'restart-daemon': { kind: 'jobs', jobs: ['restart-nix-daemon', 'restart-drained'], plan: planRestartDaemon },
  register: { kind: 'jobs', jobs: ['register-runner'], plan: planRegister },
  rotate: { kind: 'jobs', jobs: ['rotate-token', 'revive-runner-token'], plan: planRotate },
  enroll: { kind: 'approval', freeze: freezeEnrolment },
  runners: { kind: 'jobs', jobs: ['list-runners'], plan: planRunners },
  pause: { kind: 'jobs', jobs: ['pause-runners'], plan: planPause },
  resume: { kind: 'jobs', jobs: ['pause-runners'], plan: planPause },
  unregister: { kind: 'jobs', jobs: ['unregister-runner'], approvedSteps: ['remove-runner'], plan: planUnregister },
  'cleanup-stale': { kind: 'jobs', jobs: ['cleanup-stale-runners'], plan: planCleanupStale, prepare: findStaleFirst },
  jobs: { kind: 'answer', answer: answerJobs },
  job: { kind: 'answer', answer: answerJob },
  audit: { kind: 'answer', answer: answerAudit },
  schedules: { kind: 'answer', answer: answerSchedules },
} as const satisfies { [V in Verb]: VerbRow<V> };

function freezeEnrolment(request: RequestOf<'enroll'>, hosts: HostStatus[]): { plan: FrozenPlan; text: string } {
  const plan = planEnrolment(request, hosts);
  return { plan, text: `enroll ${plan.host} --fingerprint ${plan.fingerprint}` };
}

/** The verbs whose row queues jobs. */
export type QueueingVerb = { [V in Verb]: (typeof VERB_TABLE)[V] extends { kind: 'jobs' } ? V : never }[Verb];
export type QueueingRequest = RequestOf<QueueingVerb>;

/** The row of a verb. */
export function rowOf(verb: Verb): VerbRow<Verb> {
  return VERB_TABLE[verb];
}

/** The grammar side of a verb's row. */
export function grammarOf(verb: Verb): VerbSpec {
  const spec = findVerb(verb);
  if (!spec) throw new Error(`verb ${verb} has no grammar row in src/commands/verbs.ts`);
  return spec;
}

export function isQueueing(request: Request): request is QueueingRequest {
  return rowOf(request.verb).kind === 'jobs';
}

/** Turns a parsed request into jobs through its row, filling defaults from the policy. Unknown hosts are refused here. */
export function planJob(request: QueueingRequest, hosts: HostStatus[], policy: Policy, now = Date.now(), context: PlanContext = {}): JobPlan {
  const row = rowOf(request.verb);
  if (row.kind !== 'jobs') throw new Error(`${request.verb} queues no jobs`);
  return row.plan(request, hosts, policy, now, context);
}

/** The report a schedule posts for a command of `verb` (a command record's verb). */
export function reportOf(verb: string): ReportKind {
  if (!Object.hasOwn(VERB_TABLE, verb)) return 'rows';
  const row: VerbRow<Verb> = VERB_TABLE[verb as Verb];
  return (row.kind === 'jobs' ? row.report : undefined) ?? 'rows';
}
