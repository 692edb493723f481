import { describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import { classifyJobFailure, describeError, ERROR_CODES, PermanentJobError, TransientJobError, UserError } from '../src/errors.js';

describe('describeError', () => {
  it('passes our own messages through as one line', () => {
    expect(describeError(new UserError('unknown host "x"\nsecond line'))).toBe('unknown host "x"');
    expect(describeError(new PermanentJobError('container gitlabnix not found'))).toBe('container gitlabnix not found');
  });

  it('hides internals of unexpected errors', () => {
    expect(describeError(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe('internal error; see the process log for details');
  });

  it('tells the user when Redis could not take a command', () => {
    const err = new Error('Reached the max retries per request limit (which is 3). Refer to "maxRetriesPerRequest" option for details.');
    err.name = 'MaxRetriesPerRequestError';
    expect(describeError(err)).toBe('Redis did not answer, so nothing was queued; try again in a moment (the bot reconnects by itself)');
    expect(describeError(new Error('Connection is closed.'))).toContain('Redis did not answer');
  });

  it('tells the user when a Redis Cluster or Sentinel could not take a command', () => {
    expect(describeError(new Error('CLUSTERDOWN The cluster is down'))).toContain('Redis did not answer');
    expect(describeError(new Error('All sentinels are unreachable. Retrying from scratch after 10ms.'))).toContain('Redis did not answer');
    expect(describeError(new Error('Failed to refresh slots cache.'))).toContain('Redis did not answer');
  });

  it('names the address of a refused connection', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' });
    expect(describeError(refused)).toBe('connection refused (connect ECONNREFUSED /var/run/docker.sock); is the service running?');
  });
});

describe('describeError for Slack', () => {
  it('says which token Slack refused', () => {
    const err = Object.assign(new Error('An API error occurred: invalid_auth'), {
      code: 'slack_webapi_platform_error',
      data: { ok: false, error: 'invalid_auth' },
    });
    expect(describeError(err)).toBe('Slack refused the bot token (invalid_auth); check SLACK_BOT_TOKEN and that the app is still installed');
  });
});

describe('classifyJobFailure', () => {
  it('sends transient failures and Redis outages back to the queue', () => {
    expect(classifyJobFailure(new TransientJobError('GitLab answered 502'))).toBe('transient');
    expect(classifyJobFailure(new Error('Connection is closed.'))).toBe('transient');
  });

  it("fails our permanent errors, bad input and BullMQ's UnrecoverableError at once", () => {
    expect(classifyJobFailure(new PermanentJobError('403 from GitLab'))).toBe('permanent');
    expect(classifyJobFailure(new UserError('unknown host "x"'))).toBe('permanent');
    expect(classifyJobFailure(new UnrecoverableError('refused'))).toBe('permanent');
  });

  it('calls anything unclassified internal', () => {
    expect(classifyJobFailure(new TypeError('x is undefined'))).toBe('internal');
    expect(classifyJobFailure('a string')).toBe('internal');
  });

  it('reads the stable code, not the class, so an error that crossed a boundary keeps its kind', () => {
    expect(classifyJobFailure(Object.assign(new Error('retry me'), { code: ERROR_CODES.transient }))).toBe('transient');
  });
});
