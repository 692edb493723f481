import type { FakeSlackCall } from './state.js';

/** Matches a recorded call. */
export type CallPredicate = (call: FakeSlackCall) => boolean;

interface Waiter {
  method: string;
  predicate: CallPredicate;
  resolve(call: FakeSlackCall): void;
}

/** The record of every Web API call, with a way to wait for one. */
export interface CallLog {
  record(call: FakeSlackCall): void;
  list(method?: string): FakeSlackCall[];
  waitFor(method: string, predicate: CallPredicate, timeoutMs: number): Promise<FakeSlackCall>;
  reset(): void;
}

function summarize(calls: FakeSlackCall[]): string {
  if (calls.length === 0) return 'no calls at all';
  const counts = new Map<string, number>();
  for (const call of calls) counts.set(call.method, (counts.get(call.method) ?? 0) + 1);
  return [...counts].map(([method, n]) => `${method} x${n}`).join(', ');
}

/** Builds an empty call log. */
export function createCallLog(): CallLog {
  const calls: FakeSlackCall[] = [];
  const waiters = new Set<Waiter>();
  return {
    record(call) {
      calls.push(call);
      for (const waiter of waiters) {
        if (waiter.method === call.method && waiter.predicate(call)) {
          waiters.delete(waiter);
          waiter.resolve(call);
        }
      }
    },
    list(method) {
      return method === undefined ? [...calls] : calls.filter((c) => c.method === method);
    },
    waitFor(method, predicate, timeoutMs) {
      const earlier = calls.find((c) => c.method === method && predicate(c));
      if (earlier) return Promise.resolve(earlier);
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          method,
          predicate,
          resolve: (call) => {
            clearTimeout(timer);
            resolve(call);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const same = calls.filter((c) => c.method === method).length;
          reject(
            new Error(
              `fake Slack: no ${method} call matching the predicate within ${timeoutMs} ms ` +
                `(${same} ${method} call(s) did not match; seen: ${summarize(calls)})`,
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    reset() {
      calls.length = 0;
    },
  };
}
