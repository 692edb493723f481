import type { JobContext } from './job-context.js';
import type { Payload } from '../src/queue/payloads/ping.js';

export { name, payloadSchema, type Payload } from '../src/queue/payloads/ping.js';

export interface Result {
  host: string;
  /** Milliseconds from queueing until the worker picked the job up. */
  queuedMs: number;
  answeredAt: number;
}

/** Answers at once: proves the host's worker is consuming its queue. */
export async function run(payload: Payload, ctx: Pick<JobContext, 'host'>): Promise<Result> {
  const answeredAt = Date.now();
  return { host: ctx.host, queuedMs: Math.max(0, answeredAt - payload.sentAt), answeredAt };
}

export function summarize(result: Result): string {
  return `pong after ${result.queuedMs} ms in the queue`;
}
