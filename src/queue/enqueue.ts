import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { JobsOptions } from 'bullmq';
import { findJobSpec, JOB_SPECS } from './payloads/index.js';
import { DEFAULT_RETRY } from './payloads/retry.js';
import { saveCommand, type CommandRecord, type Requester } from './command-record.js';
import { CLOCK_SKEW_MS, issueEnvelope, type EnvelopeApproval, type JobEnvelope } from './envelope.js';
import { CONTROL_QUEUE, hostQueueName, jobIdFor } from './names.js';
import type { QueuePool } from './queue-pool.js';
import { DEFAULT_RETENTION_SECONDS, FINISHED_JOBS_PER_QUEUE } from './retention.js';
import type { Signer } from './signing-keys.js';

/**
 * What BullMQ carries for every runnerops job: the signed envelope, and copies of its command id,
 * host and step flag for routing. Workers act only on what the envelope says.
 */
export interface JobData {
  commandId: string;
  envelope: JobEnvelope;
  /** For control-plane jobs: the host the command is about. */
  host?: string;
  /** Set when a control-plane job runs this host job as one of its steps. */
  step?: boolean;
}

export interface EnqueueDeps {
  redis: Redis;
  prefix: string;
  queues: QueuePool;
  /** The bot's job-signing key: only the bot queues work. */
  signer: Signer;
  /** Seconds finished commands and jobs stay in Redis (RUNNEROPS_RETENTION). @defaultValue 14 days */
  retentionSeconds?: number;
}

export interface CommandToQueue {
  verb: string;
  text: string;
  /** Host job name, or a control-plane job name when `control` is set. */
  job: string;
  hosts: string[];
  /** The payload for each host (the command id lets a job recognise its own retry). */
  payloadFor: (host: string, commandId: string) => unknown;
  requester: Requester;
  /** Run on the control queue (one control job per host) instead of each host's queue. */
  control?: boolean;
  /** A fixed command id (approvals derive it from the approval id); random otherwise. */
  id?: string;
  approvalId?: string;
  /** The approval the envelope carries (request hash and approvers), for approval-gated commands. */
  approval?: EnvelopeApproval;
  schedule?: string;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/**
 * How long a job may take before its host counts as silent: the job's own limit, or twice a
 * `timeoutSeconds` in its payload (a drain waits that long, then restarts) plus a minute.
 */
export function jobTimeoutMs(jobName: string, payload?: unknown): number {
  const module = JOB_SPECS.get(jobName);
  const asked = (payload as { timeoutSeconds?: unknown } | undefined)?.timeoutSeconds;
  const fromPayload = typeof asked === 'number' ? asked * 2000 + 60_000 : 0;
  return Math.max(module?.timeoutMs ?? DEFAULT_TIMEOUT_MS, fromPayload);
}

export function newCommandId(): string {
  return randomBytes(5).toString('hex');
}

function jobOptions(jobName: string, control: boolean, jobId: string, retentionSeconds: number): JobsOptions {
  const module = findJobSpec(jobName, control ? 'control' : 'host');
  if (!module) throw new Error(`no ${control ? 'control' : 'host'} job named "${jobName}"`);
  const retry = module.retry ?? DEFAULT_RETRY;
  return {
    jobId,
    attempts: retry.attempts,
    ...(retry.attempts > 1 ? { backoff: { type: 'exponential', delay: retry.backoffMs } } : {}),
    removeOnComplete: { age: retentionSeconds, count: FINISHED_JOBS_PER_QUEUE },
    removeOnFail: { age: retentionSeconds, count: FINISHED_JOBS_PER_QUEUE },
  };
}

/**
 * Stores the command and queues one job per host (a fan-out shares the command id: job ids are
 * `<command id>@<host>`). Queueing the same command id twice adds nothing: BullMQ ignores a known job id.
 */
export async function enqueueCommand(deps: EnqueueDeps, command: CommandToQueue): Promise<CommandRecord> {
  const id = command.id ?? newCommandId();
  const timeoutMs = Math.max(...command.hosts.map((host) => jobTimeoutMs(command.job, command.payloadFor(host, id))), jobTimeoutMs(command.job));
  const record: CommandRecord = {
    id,
    verb: command.verb,
    text: command.text,
    job: command.job,
    hosts: command.hosts,
    requester: command.requester,
    createdAt: Date.now(),
    timeoutMs,
    ...(command.approvalId ? { approvalId: command.approvalId } : {}),
    ...(command.schedule ? { schedule: command.schedule } : {}),
  };
  await saveCommand(deps.redis, deps.prefix, record, deps.retentionSeconds ?? DEFAULT_RETENTION_SECONDS);
  await Promise.all(
    command.hosts.map((host) => {
      const jobId = jobIdFor(id, host);
      const queueName = command.control ? CONTROL_QUEUE : hostQueueName(host);
      const payload = command.payloadFor(host, id);
      const envelope = issueEnvelope(deps.signer, {
        job: command.job,
        queue: queueName,
        host,
        jobId,
        commandId: id,
        payload,
        requester: { via: command.requester.via, user: command.requester.user },
        ...(command.approval ? { approval: command.approval } : {}),
        issuedAt: record.createdAt,
        expiresAt: record.createdAt + jobTimeoutMs(command.job, payload) + CLOCK_SKEW_MS,
      });
      const data: JobData = { commandId: id, envelope, ...(command.control ? { host } : {}) };
      return deps.queues
        .get(queueName)
        .add(command.job, data, jobOptions(command.job, command.control === true, jobId, deps.retentionSeconds ?? DEFAULT_RETENTION_SECONDS));
    }),
  );
  return record;
}

/** A host job queued as a step of a control-plane command, and the envelope id its result must carry. */
export interface QueuedStep {
  jobId: string;
  envelopeId: string;
}

/**
 * Queues one host job as a step of a control-plane command (its job id is `<command>.<job>@<host>`),
 * signed with the control job's requester and approval so the host sees who asked.
 */
export async function enqueueStep(
  deps: EnqueueDeps,
  parent: { commandId: string; requester: JobEnvelope['body']['requester']; approval?: EnvelopeApproval },
  host: string,
  job: string,
  payload: unknown,
  timeoutMs: number,
): Promise<QueuedStep> {
  const jobId = jobIdFor(`${parent.commandId}.${job}`, host);
  const now = Date.now();
  const envelope = issueEnvelope(deps.signer, {
    job,
    queue: hostQueueName(host),
    host,
    jobId,
    commandId: parent.commandId,
    payload,
    requester: parent.requester,
    ...(parent.approval ? { approval: parent.approval } : {}),
    step: true,
    issuedAt: now,
    expiresAt: now + timeoutMs + CLOCK_SKEW_MS,
  });
  const data: JobData = { commandId: parent.commandId, envelope, step: true };
  // A rerun of the control job (the bot stopped mid-way) waits for a step still queued or running, and
  // replaces a finished one, so the host always answers an envelope this run knows.
  const queue = deps.queues.get(hostQueueName(host));
  const earlier = (await queue.getJob(jobId)) as
    | { data?: Partial<JobData>; isCompleted: () => Promise<boolean>; isFailed: () => Promise<boolean>; remove: () => Promise<void> }
    | undefined;
  if (earlier) {
    const earlierId = earlier.data?.envelope?.body?.id;
    if (!(await earlier.isCompleted()) && !(await earlier.isFailed()) && typeof earlierId === 'string') return { jobId, envelopeId: earlierId };
    await earlier.remove();
  }
  await queue.add(job, data, jobOptions(job, false, jobId, deps.retentionSeconds ?? DEFAULT_RETENTION_SECONDS));
  return { jobId, envelopeId: envelope.body.id };
}
