import type { Redis } from 'ioredis';
import { PermanentJobError, TransientJobError } from '../errors.js';
import { enqueueStep, type EnqueueDeps } from '../queue/enqueue.js';
import { latestEventId, readEvents } from '../queue/events.js';
import type { RunOnHostOptions } from '../worker/job-context.js';

/**
 * Runs a host job as a step of a control-plane command and waits for its result, following the event
 * stream on `blocking`. A host that does not answer in time is a transient failure.
 */
export async function runOnHost(
  deps: EnqueueDeps & { blocking: Redis },
  commandId: string,
  host: string,
  job: string,
  payload: unknown,
  options: RunOnHostOptions = {},
): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  let cursor = await latestEventId(deps.redis, deps.prefix);
  await enqueueStep(deps, commandId, host, job, payload);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { events, nextId } = await readEvents(deps.blocking, deps.prefix, cursor, Math.min(1000, Math.max(1, deadline - Date.now())));
    cursor = nextId;
    for (const event of events) {
      if (!event.step || event.commandId !== commandId || event.host !== host || event.job !== job) continue;
      if (event.type === 'completed') return event.result;
      if (event.type === 'failed') throw new PermanentJobError(`${host}: ${event.summary ?? `${job} failed`}`);
    }
  }
  throw new TransientJobError(`${host} did not finish ${job} within ${Math.round(timeoutMs / 1000)} s; is its worker running?`);
}
