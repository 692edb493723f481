/**
 * A failure the fake plays instead of answering a method:
 * - `rate_limited`: HTTP 429 with `Retry-After` (seconds) and `{ok:false,error:'ratelimited'}`, as Slack does;
 * - `error`: HTTP 200 with `{ok:false,error}` (e.g. `invalid_auth` for a revoked token);
 * - `http_status`: a bare server error (default 500), which WebClient reports as an HTTP error.
 */
export type FakeSlackFault = { kind: 'rate_limited'; retryAfterSeconds?: number } | { kind: 'error'; error: string } | { kind: 'http_status'; status?: number };

/** Pending faults per method, each played a given number of times. */
export interface FaultQueue {
  add(method: string, fault: FakeSlackFault, times: number): void;
  /** The next fault for this method, consuming one use, or undefined. */
  take(method: string): FakeSlackFault | undefined;
  clear(): void;
}

/** Builds an empty fault queue. */
export function createFaultQueue(): FaultQueue {
  const queues = new Map<string, Array<{ fault: FakeSlackFault; left: number }>>();
  return {
    add(method, fault, times) {
      if (!Number.isInteger(times) || times < 1) throw new Error(`fake Slack: fault times must be a positive integer, got ${times}`);
      const queue = queues.get(method) ?? [];
      queue.push({ fault, left: times });
      queues.set(method, queue);
    },
    take(method) {
      const queue = queues.get(method);
      const head = queue?.[0];
      if (!queue || !head) return undefined;
      head.left -= 1;
      if (head.left === 0) queue.shift();
      return head.fault;
    },
    clear() {
      queues.clear();
    },
  };
}
