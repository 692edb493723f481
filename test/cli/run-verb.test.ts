import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVerb } from '../../src/cli/run-verb.js';
import { policySchema } from '../../src/policy/schema.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ mode: 'http', hosts: ['cli-1', 'cli-2', 'cli-3'] });
});
afterAll(async () => stack?.stop());

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runVerb(args, { env: stack.env, write: (l) => lines.push(l), user: 'cli:tester' });
  return { code, out: lines.join('\n') };
}

describe('runVerb', () => {
  it('pings every host through the queue and prints one line per host and a total', async () => {
    const { code, out } = await run(['ping', 'all']);
    expect(code).toBe(0);
    for (const host of ['cli-1', 'cli-2', 'cli-3']) expect(out).toMatch(new RegExp(`✓ ${host} \\(\\d+ ms\\): pong after \\d+ ms in the queue`));
    expect(out).toMatch(/finished: 3 done in \d+/);
  });

  it('prints the hosts as plain text', async () => {
    const { code, out } = await run(['hosts']);
    expect(code).toBe(0);
    expect(out).toContain('3 hosts, 3 alive');
  });

  it('exits 1 with a one-line error for a bad command', async () => {
    const { code, out } = await run(['ping', 'cli-9']);
    expect(code).toBe(1);
    expect(out).toBe('unknown host "cli-9"; known: cli-1, cli-2, cli-3');
  });

  it('shows a finished job by its id', async () => {
    await run(['ping', 'cli-1']);
    const { out: jobs } = await run(['jobs', '1']);
    const id = /\n([0-9a-f]{10})\s/.exec(jobs)![1]!;
    const { code, out } = await run(['job', id]);
    expect(code).toBe(0);
    expect(out).toContain(`ping cli-1 [job ${id}]`);
    expect(out).toContain('✓ cli-1');
  });

  it('records each command in the audit log', async () => {
    await run(['ping', 'cli-2']);
    const { out } = await run(['audit', '5']);
    expect(out).toMatch(/cli:tester\s+command\s+ping cli-2\s+queued on 1 host/);
  });

  it('prints the total across hosts after a fan-out prune dry run', async () => {
    const policy = policySchema.parse({ roles: { ops: { users: ['cli:tester'] } }, verbs: { prune: { run: ['ops'] } } });
    const lines: string[] = [];
    const code = await runVerb(['prune', 'all', '--dry-run'], { env: stack.env, write: (l) => lines.push(l), user: 'cli:tester', policy });
    expect(code).toBe(0);
    const out = lines.join('\n');
    for (const host of ['cli-1', 'cli-2', 'cli-3']) expect(out).toMatch(new RegExp(`✓ ${host} \\(\\d+ ms\\): dry run: would remove`));
    expect(lines.at(-1)).toMatch(/^would free \d.* on 3 hosts/);
  });

  it('refuses a mutating verb to a terminal user the policy does not name', async () => {
    const { code, out } = await run(['prune', 'all']);
    expect(code).toBe(1);
    expect(out).toContain('RUNNEROPS_POLICY');
  });

  it('names Redis when it cannot reach it', async () => {
    const lines: string[] = [];
    await expect(runVerb(['hosts'], { env: { REDIS_URL: 'redis://127.0.0.1:1' }, write: (l) => lines.push(l) })).rejects.toThrow('cannot reach Redis at redis://127.0.0.1:1; is it running? (set REDIS_URL)');
  });
});
