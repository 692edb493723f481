import { describe, expect, it } from 'vitest';
import { jobTimeoutMs } from '../../src/queue/enqueue.js';

describe('jobTimeoutMs', () => {
  it('gives a job ten minutes unless it says otherwise', () => {
    expect(jobTimeoutMs('ping')).toBe(600_000);
  });

  it('waits long enough for a drain that may take its whole --timeout before it restarts', () => {
    expect(jobTimeoutMs('restart-drained', { host: 'ci-1', runnerIds: [1], timeoutSeconds: 1800 })).toBe(1800 * 2000 + 60_000);
  });
});
