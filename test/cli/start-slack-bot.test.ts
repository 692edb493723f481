import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../src/queue/names.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';
import { until } from '../helpers/until.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ mode: 'http', hosts: ['sb-1'] });
});
afterAll(async () => stack?.stop());

describe('startSlackBot', () => {
  it('counts a Slack call that failed in the process metrics', async () => {
    // Slack refuses the bot token for the next report: the call fails and is counted by its kind.
    stack.slack.injectFault('chat.postMessage', { kind: 'error', error: 'account_inactive' }, 1);
    await expect(stack.bot.bot.core.surface.post('C0OPS', 'a notice')).rejects.toThrow('account_inactive');
    const text = await stack.bot.metrics.registry.metrics();
    expect(text).toContain('runnerops_api_errors_total{api="slack",kind="account_inactive",process="bot"} 1');
  });

  it('counts what reached the process error sink', async () => {
    stack.bot.metrics.countProcessError('unhandledRejection');
    expect(await stack.bot.metrics.registry.metrics()).toContain('runnerops_process_errors_total{kind="unhandledRejection",process="bot"} 1');
  });

  it('counts a malformed job event, acknowledged and reported once', async () => {
    await stack.redis.xadd(keys.events(stack.prefix), '*', 'e', 'not json');
    const line = 'runnerops_stream_failures_total{stream="events",kind="malformed",process="bot"} 1';
    await until(async () => (await stack.bot.metrics.registry.metrics()).includes(line), 10_000, 'the malformed event counted');
    const summary = (await stack.redis.xpending(keys.events(stack.prefix), 'bots')) as [number, ...unknown[]];
    expect(summary[0]).toBe(0);
  });
});
