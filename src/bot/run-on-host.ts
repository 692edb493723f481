import type { Redis } from 'ioredis';
import { PermanentJobError, TransientJobError } from '../errors.js';
import type { EnvelopeBody } from '../queue/envelope.js';
import { enqueueStep, type EnqueueDeps } from '../queue/enqueue.js';
import { latestEventId, readStream, verifyEvent, type EventSigners } from '../queue/events.js';
import type { RunOnHostOptions } from '../../jobs/job-context.js';

export interface RunOnHostDeps extends EnqueueDeps {
  /** A dedicated connection for XREAD BLOCK. */
  blocking: Redis;
  /** Who may sign the host's events: only its enrolled key's results are believed. */
  signers: EventSigners;
}

/**
 * Runs a host job as a step of a control-plane command and waits for its result, following the event
 * stream on `blocking`. Only an event signed by the host's enrolled key, for the envelope this call
 * issued, counts: a forged or replayed "completed" is ignored. A host that does not answer in time is
 * a transient failure.
 */
export async function runOnHost(
  deps: RunOnHostDeps,
  parent: Pick<EnvelopeBody, 'commandId' | 'requester' | 'approval'>,
  host: string,
  job: string,
  payload: unknown,
  options: RunOnHostOptions = {},
): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  let cursor = await latestEventId(deps.redis, deps.prefix);
  const step = await enqueueStep(deps, parent, host, job, payload, timeoutMs);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { values, nextId } = await readStream(deps.blocking, deps.prefix, 'events', cursor, Math.min(1000, Math.max(1, deadline - Date.now())));
    cursor = nextId;
    for (const raw of values) {
      const event = await verifyEvent(raw, deps.signers).catch(() => undefined);
      if (!event || event.envelopeId !== step.envelopeId || event.host !== host) continue;
      if (event.type === 'completed') return event.result;
      if (event.type === 'failed') throw new PermanentJobError(`${host}: ${event.summary ?? `${job} failed`}`);
    }
  }
  throw new TransientJobError(`${host} did not finish ${job} within ${Math.round(timeoutMs / 1000)} s; is its worker running?`);
}
