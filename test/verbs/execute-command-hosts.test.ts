import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTrustedHosts } from '../../src/queue/bot-trust.js';
import { executeCommand } from '../../src/verbs/execute-command.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';
import { until } from '../helpers/until.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ mode: 'http', hosts: ['ex-1', 'ex-2'] });
  await until(async () => (await listTrustedHosts(stack.redis, stack.prefix, stack.bot.bot.core.trust)).length === 2, 15_000, 'both hosts registered');
});
afterAll(async () => stack?.stop());

const say = async (text: string): Promise<string> => {
  const reply = await executeCommand(stack.bot.bot.core, text, { via: 'slack', user: 'U0ANY', channel: 'C0OPS' });
  return reply.kind === 'text' ? reply.text : reply.kind;
};

describe('executeCommand hosts', () => {
  it('lists the registered hosts whose names start with a prefix, with the fleet counts first', async () => {
    const lines = (await say('hosts ex- --page 1')).split('\n');
    expect(lines[0]).toBe('2 hosts: 2 healthy');
    expect(lines.filter((l) => /^ex-\d /.test(l)).map((l) => l.split(' ')[0])).toEqual(['ex-1', 'ex-2']);
    expect(lines.at(-1)).toBe('hosts 1-2 of 2 matching "ex-" (page 1 of 1)');
  });

  it('says no host is in a state none of them is in, and how to see them all', async () => {
    expect((await say('hosts silent')).split('\n').at(-1)).toBe('no host matches "silent"; "/runner hosts all" lists every host');
  });
});
