import { describe, expect, it } from 'vitest';
import { PermanentJobError } from '../../src/errors.js';
import { describeJobFailure } from '../../src/worker/describe-job-failure.js';

describe('describeJobFailure', () => {
  it('gives an internal error its first line with tokens masked', () => {
    expect(describeJobFailure(new Error('bad answer for glrt-abcdefghijklmnop\nstack'))).toBe(
      'internal error: bad answer for glrt-[REDACTED]; see the process log for details',
    );
  });

  it('says what describeError says about every other error', () => {
    expect(describeJobFailure(new PermanentJobError('container gitlabnix not found'))).toBe('container gitlabnix not found');
  });
});
