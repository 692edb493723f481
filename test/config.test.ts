import { describe, expect, it } from 'vitest';
import { readBotSettings } from '../src/config.js';
import { UserError } from '../src/errors.js';

describe('readBotSettings', () => {
  it('keeps finished commands 14 days unless RUNNEROPS_RETENTION says otherwise', () => {
    expect(readBotSettings({}).retentionSeconds).toBe(14 * 86400);
    expect(readBotSettings({ RUNNEROPS_RETENTION: '30d' }).retentionSeconds).toBe(30 * 86400);
    expect(readBotSettings({ RUNNEROPS_RETENTION: '2h' }).retentionSeconds).toBe(7200);
  });

  it('refuses a retention that is not a duration, or shorter than an hour, naming the variable', () => {
    expect(() => readBotSettings({ RUNNEROPS_RETENTION: 'forever' })).toThrow(UserError);
    expect(() => readBotSettings({ RUNNEROPS_RETENTION: 'forever' })).toThrow(/RUNNEROPS_RETENTION "forever" is not a duration/);
    expect(() => readBotSettings({ RUNNEROPS_RETENTION: '30m' })).toThrow(/RUNNEROPS_RETENTION="30m" is too short; keep finished commands at least 1h/);
  });
});
