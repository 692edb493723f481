/** Attempts a job gets on the queue, with exponential backoff between them (BullMQ's `attempts`, `backoff`). */
export interface RetryPolicy {
  attempts: number;
  /** First pause; it doubles each attempt. */
  backoffMs: number;
}

/**
 * What a job gets unless its payload file says otherwise: a transient failure (TransientJobError:
 * Docker 409 / 5xx, GitLab 429 / 5xx, Redis not answering) is tried twice more, 5 s and then 10 s later.
 * Permanent and internal failures are never retried (src/worker/dispatch.ts). The retry lives in the
 * queue, so it survives a worker restart.
 */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 5_000 };

/**
 * For a job that must not be run again after a failure: a second run would repeat something visible
 * (restart a daemon mid-build, create a second runner, reset a token the host may already hold). It
 * fails at once and the card says why; a person decides whether to ask again. A run handed back because
 * its worker died (BullMQ's stalled check) is another matter: these jobs resume from what they recorded
 * (docs/reliability.md), and the replay guard repeats the answer of one that had already ended.
 */
export const NO_RETRY: RetryPolicy = { attempts: 1, backoffMs: 0 };
