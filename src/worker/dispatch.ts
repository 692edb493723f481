import { UnrecoverableError, type Job } from 'bullmq';
import type { AnyJobModule } from '../../jobs/index.js';
import { classifyJobFailure, TransientJobError } from '../errors.js';
import { describeJobFailure } from './describe-job-failure.js';
import type { Logger } from '../logger.js';
import { EnvelopeExpired, verifyEnvelope, type EnvelopeBody } from '../queue/envelope.js';
import { publishEvent, type JobEvent } from '../queue/events.js';
import type { JobData } from '../queue/enqueue.js';
import { SignatureError } from '../queue/signed.js';
import type { KeyRing, Signer } from '../queue/signing-keys.js';
import type { JobProgress } from '../../jobs/job-context.js';
import type { HostEntry } from '../queue/host-registry.js';
import type { RecordedOutcome, ReplayGuard } from './replay-guard.js';
import type { Redis } from 'ioredis';

/** A job that was not run because its envelope did not hold: for the log, /metrics, audit and a security notice. */
export interface Refusal {
  queue: string;
  job: string;
  jobId: string | undefined;
  reason: string;
}

export interface DispatchDeps {
  redis: Redis;
  prefix: string;
  log: Logger;
  /** The queue this processor consumes (`control` or `host.<name>`). */
  queue: string;
  /** This worker's host; undefined on the control queue (jobs for any host). */
  host: string | undefined;
  /** Bot public keys from this process's own config: the only signatures a job may carry. */
  ring: KeyRing;
  /** Signs what this process reports (the host key on a worker, the bot key on the control plane). */
  signer: Signer;
  replay: ReplayGuard;
  findJob: (name: string) => AnyJobModule | undefined;
  /** Builds the context a job runs with (host clients, or the control-plane context). */
  contextFor: (envelope: EnvelopeBody, base: { log: Logger; progress: (p: JobProgress) => Promise<void> }) => unknown;
  runExclusive: <T>(group: string | undefined, work: () => Promise<T>) => Promise<T>;
  /** Merges what a result tells about this host into its registry entry (workers only). */
  patchHost?: (patch: Partial<HostEntry>) => Promise<void>;
  /** A job refused before it ran. */
  onRefused: (refusal: Refusal) => Promise<void>;
}

/** Signed events about the job an envelope describes. */
function eventsFor(deps: Pick<DispatchDeps, 'redis' | 'prefix' | 'signer'>, envelope: EnvelopeBody) {
  return (type: JobEvent['type'], extra: Partial<JobEvent> = {}) =>
    publishEvent(deps.redis, deps.prefix, deps.signer, {
      type,
      commandId: envelope.commandId,
      host: envelope.host,
      job: envelope.job,
      envelopeId: envelope.id,
      at: Date.now(),
      ...(envelope.step ? { step: true } : {}),
      ...extra,
    });
}

/**
 * Runs one BullMQ job: verifies its signed envelope (refused jobs never run), validates the payload
 * from the envelope, runs the job module, and records signed started / progress / completed / failed /
 * retrying events. Transient failures go back to the queue (BullMQ's attempts with backoff); permanent
 * and unclassified ones fail at once (UnrecoverableError skips the remaining attempts).
 */
export function createProcessor(deps: DispatchDeps) {
  const run = createRun(deps);
  // Runs in this process by envelope id. A job whose lock lapsed while it still ran here (the event
  // loop or Redis held up past the lock) is handed back by BullMQ's stalled check, usually to this same
  // worker (one per host queue): it then joins the run under way instead of starting a second one.
  const running = new Map<string, Promise<unknown>>();
  return async (job: Job<JobData>, token?: string, signal?: AbortSignal): Promise<unknown> => {
    const id = verifiedEnvelopeId(deps, job);
    const earlier = id === undefined ? undefined : running.get(id);
    if (earlier !== undefined) {
      deps.log.warn(
        { jobId: job.id, job: job.name },
        'job handed back while its run goes on here (its lock lapsed); waiting for that run instead of starting another',
      );
      return earlier;
    }
    const attempt = run(job, token, signal);
    if (id === undefined) return attempt;
    running.set(id, attempt);
    try {
      return await attempt;
    } finally {
      running.delete(id);
    }
  };
}

/** The id of a job's envelope when it verifies for this queue (the run itself refuses the others). */
function verifiedEnvelopeId(deps: DispatchDeps, job: Job<JobData>): string | undefined {
  try {
    return verifyEnvelope(job.data?.envelope, deps.ring, { queue: deps.queue, host: deps.host, jobName: job.name, jobId: job.id, now: Date.now() }).id;
  } catch {
    return undefined;
  }
}

function createRun(deps: DispatchDeps) {
  return async (job: Job<JobData>, _token?: string, signal?: AbortSignal): Promise<unknown> => {
    let envelope: EnvelopeBody;
    let recorded: RecordedOutcome | undefined;
    try {
      envelope = verifyEnvelope(job.data?.envelope, deps.ring, { queue: deps.queue, host: deps.host, jobName: job.name, jobId: job.id, now: Date.now() });
      recorded = await deps.replay.begin(envelope.id, envelope.expiresAt);
      // BullMQ hands a job back when its worker died after the job ended but before the queue heard of
      // it: repeat the recorded answer, run nothing. Any other second arrival is a replay.
      if (recorded && !(job.stalledCounter > 0)) throw new SignatureError(`replayed job (envelope ${envelope.id} already ran)`);
    } catch (err) {
      if (err instanceof EnvelopeExpired) {
        // Signed by the bot, but too late: the card already calls the host silent; say why, run nothing.
        deps.log.info({ jobId: job.id, job: job.name }, 'dropped a job that expired before this host took it');
        await eventsFor(deps, err.body)('failed', { summary: `the job expired before ${err.body.host} took it (${err.message}); ask again` }).catch(
          () => undefined,
        );
        throw new UnrecoverableError(`not run: ${err.message}`);
      }
      if (!(err instanceof SignatureError)) throw err;
      const refusal: Refusal = { queue: deps.queue, job: job.name, jobId: job.id, reason: err.message };
      deps.log.warn(refusal, 'refused a job');
      await deps.onRefused(refusal).catch((e: unknown) => deps.log.warn({ err: e }, 'could not report a refused job'));
      throw new UnrecoverableError(`refused: ${err.message}`);
    }
    const log = deps.log.child({ commandId: envelope.commandId, jobId: job.id, job: job.name });
    const event = eventsFor(deps, envelope);
    if (recorded) {
      log.info('a job handed back after it had ended: repeating its answer');
      await event(recorded.type, { summary: recorded.summary, ...(recorded.result !== undefined ? { result: recorded.result } : {}) });
      if (recorded.type === 'failed') throw new UnrecoverableError(recorded.summary);
      return recorded.result;
    }
    const finish = (outcome: RecordedOutcome) => deps.replay.finish(envelope.id, envelope.expiresAt, outcome);
    const module = deps.findJob(envelope.job);
    if (!module) {
      const reason = `this worker does not know job "${envelope.job}"; upgrade runnerops on ${envelope.host}`;
      await finish({ type: 'failed', summary: reason });
      await event('failed', { summary: reason });
      throw new UnrecoverableError(reason);
    }
    const progress = async (update: JobProgress) => {
      await job.updateProgress({ ...update });
      await event('progress', { phase: update.phase, ...(update.detail !== undefined ? { detail: update.detail } : {}) });
    };
    try {
      const payload = module.payloadSchema.parse(envelope.payload);
      await event('started');
      log.info('job started');
      const ctx = deps.contextFor(envelope, { log, progress });
      const result = await deps.runExclusive(module.exclusive, () => module.run(payload, ctx, signal ?? new AbortController().signal));
      const summary = module.summarize(result);
      // Recorded before it is told: a worker that dies in between repeats this answer when the job comes back.
      await finish({ type: 'completed', summary, result });
      if (module.registryPatch) await deps.patchHost?.(module.registryPatch(result));
      await event('completed', { summary, result });
      log.info('job completed');
      return result;
    } catch (err) {
      const reason = err instanceof Error && err.name === 'ZodError' ? `bad payload for ${job.name}: ${firstIssue(err)}` : describeJobFailure(err);
      // Only a transient failure goes back to the queue (attempts and backoff are the job's, see
      // src/queue/payloads/index.ts); permanent and unclassified (internal) ones fail at once. A retry is
      // not recorded in the replay guard, so the next attempt runs: every job with attempts > 1 is safe to rerun.
      const attempts = job.opts.attempts ?? 1;
      const kind = classifyJobFailure(err);
      const willRetry = kind === 'transient' && job.attemptsMade + 1 < attempts;
      log.warn({ err, failure: kind, attempt: job.attemptsMade + 1, attempts }, willRetry ? 'job failed, will retry' : 'job failed');
      if (!willRetry) await finish({ type: 'failed', summary: reason }).catch((e: unknown) => log.warn({ err: e }, 'could not record the finished envelope'));
      await event(willRetry ? 'retrying' : 'failed', { summary: reason });
      if (!willRetry) throw new UnrecoverableError(reason);
      throw new TransientJobError(reason);
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
 * allowed). No processor ran to say so, so tell the card here (a row that already finished stays as it is).
 */
export async function reportStalledFailure(
  deps: Pick<DispatchDeps, 'redis' | 'prefix' | 'signer' | 'ring' | 'queue' | 'host'>,
  job: Job<JobData> | undefined,
  err: Error,
): Promise<void> {
  if (!job || !/stalled/i.test(err.message)) return;
  let envelope: EnvelopeBody;
  try {
    envelope = verifyEnvelope(job.data?.envelope, deps.ring, { queue: deps.queue, host: deps.host, jobName: job.name, jobId: job.id, now: undefined });
  } catch {
    return;
  }
  await eventsFor(deps, envelope)('failed', {
    summary: `the worker on ${envelope.host} stopped while running ${job.name}, more than once; check its logs, then run the command again`,
  });
}
