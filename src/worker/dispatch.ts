import { UnrecoverableError, type Job } from 'bullmq';
import type { AnyJobModule } from '../../jobs/index.js';
import { describeError, PermanentJobError, UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import { publishEvent, type JobEvent } from '../queue/events.js';
import { keys } from '../queue/names.js';
import type { JobData } from '../queue/enqueue.js';
import type { Redis } from 'ioredis';
import type { JobProgress } from './job-context.js';
import type { HostEntry } from '../queue/host-registry.js';

export interface DispatchDeps {
  redis: Redis;
  prefix: string;
  log: Logger;
  /** The row a job's events land on: the worker's host, or the control job's target host. */
  hostOf: (data: JobData) => string;
  findJob: (name: string) => AnyJobModule | undefined;
  /** Builds the context a job runs with (host clients, or the control-plane context). */
  contextFor: (job: Job<JobData>, base: { log: Logger; progress: (p: JobProgress) => Promise<void> }) => unknown;
  runExclusive: <T>(group: string | undefined, work: () => Promise<T>) => Promise<T>;
  /** Merges what a result tells about this host into its registry entry (workers only). */
  patchHost?: (patch: Partial<HostEntry>) => Promise<void>;
}

function isPermanent(err: unknown): boolean {
  return err instanceof PermanentJobError || err instanceof UserError || err instanceof UnrecoverableError;
}

/**
 * Runs one BullMQ job: validates its payload, runs the job module, and records started / progress /
 * completed / failed / retrying events. Permanent failures skip BullMQ's remaining attempts.
 */
export function createProcessor(deps: DispatchDeps) {
  return async (job: Job<JobData>, _token?: string, signal?: AbortSignal): Promise<unknown> => {
    const data = job.data;
    const host = deps.hostOf(data);
    const log = deps.log.child({ commandId: data.commandId, jobId: job.id, job: job.name });
    const event = (type: JobEvent['type'], extra: Partial<JobEvent> = {}) =>
      publishEvent(deps.redis, deps.prefix, {
        type,
        commandId: data.commandId,
        host,
        job: job.name,
        at: Date.now(),
        ...(data.step ? { step: true } : {}),
        ...extra,
      });
    const module = deps.findJob(job.name);
    if (!module) {
      const reason = `this worker does not know job "${job.name}"; upgrade runnerops on ${host}`;
      await event('failed', { summary: reason });
      throw new UnrecoverableError(reason);
    }
    const progress = async (update: JobProgress) => {
      await job.updateProgress({ ...update });
      await event('progress', { phase: update.phase, ...(update.detail !== undefined ? { detail: update.detail } : {}) });
    };
    try {
      const payload = module.payloadSchema.parse(data.payload);
      await event('started');
      log.info('job started');
      const ctx = deps.contextFor(job, { log, progress });
      const result = await deps.runExclusive(module.exclusive, () =>
        module.run(payload, ctx, signal ?? new AbortController().signal),
      );
      if (module.registryPatch) await deps.patchHost?.(module.registryPatch(result));
      await event('completed', { summary: module.summarize(result), result });
      log.info('job completed');
      return result;
    } catch (err) {
      const reason = err instanceof Error && err.name === 'ZodError' ? `bad payload for ${job.name}: ${firstIssue(err)}` : describeError(err);
      const attempts = job.opts.attempts ?? 1;
      const permanent = isPermanent(err) || (err instanceof Error && err.name === 'ZodError');
      const willRetry = !permanent && job.attemptsMade + 1 < attempts;
      log.warn({ err }, willRetry ? 'job failed, will retry' : 'job failed');
      await event(willRetry ? 'retrying' : 'failed', { summary: reason });
      if (permanent || !willRetry) throw new UnrecoverableError(reason);
      throw new Error(reason);
    }
  };
}

function firstIssue(err: Error): string {
  const issues = (err as unknown as { issues?: Array<{ path: (string | number)[]; message: string }> }).issues;
  const issue = issues?.[0];
  return issue ? `${issue.path.join('.') || 'payload'}: ${issue.message}` : 'invalid';
}

/**
 * BullMQ fails a job by itself when its worker died too often while running it (stalled more than
 * allowed). No processor ran to say so, so tell the card here, unless the processor already did.
 */
export async function reportStalledFailure(deps: Pick<DispatchDeps, 'redis' | 'prefix' | 'hostOf'>, job: Job<JobData> | undefined, err: Error): Promise<void> {
  if (!job?.data?.commandId || !/stalled/i.test(err.message)) return;
  const host = deps.hostOf(job.data);
  const rows = await deps.redis.hget(keys.commandRows(deps.prefix, job.data.commandId), host);
  const status = rows ? (JSON.parse(rows) as { status?: string }).status : undefined;
  if (status === 'done' || status === 'failed') return;
  await publishEvent(deps.redis, deps.prefix, {
    type: 'failed',
    commandId: job.data.commandId,
    host,
    job: job.name,
    at: Date.now(),
    ...(job.data.step ? { step: true } : {}),
    summary: `the worker on ${host} stopped while running ${job.name}, more than once; check its logs, then run the command again`,
  });
}
