import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policySchema } from '../../src/policy/schema.js';
import { APPROVE_ACTION } from '../../src/present/approval-blocks.js';
import { blockActionsBody, signedPost, slashCommandBody } from '../helpers/slack-requests.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';
import { until } from '../helpers/until.js';
import { useFakeGitlab } from '../helpers/use-fake-gitlab.js';
import { runTerminalCommand } from '../../src/bot/run-terminal-command.js';
import { defined } from '../helpers/defined.js';

const policy = policySchema.parse({
  roles: { operators: { users: ['U0REQ', 'U0APP'] }, approvers: { users: ['U0APP'] } },
  verbs: {
    pause: { run: ['operators'] },
    'cleanup-stale': { request: ['operators'], approve: ['approvers'] },
    unregister: { request: ['operators'], approve: ['approvers'] },
  },
  channels: { approvals: 'C0APPROVALS' },
});

const DAY = 86400_000;
const gitlab = useFakeGitlab();
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ mode: 'http', hosts: ['ex-1'], policy, botEnv: { GITLAB_URL: gitlab().url, GITLAB_TOKEN: gitlab().admin.token } });
});
afterAll(async () => {
  await stack?.stop();
});

async function slash(text: string, user = 'U0REQ'): Promise<void> {
  const res = await signedPost(stack.eventsUrl, slashCommandBody({ text, user_id: user, channel_id: 'C0OPS' }), { secret: stack.signingSecret });
  expect(res.status).toBe(200);
}

/** The card of the command typed as `text` once it shows finished (posted finished, or updated to it): its blocks as JSON. */
async function finishedCard(text: string): Promise<string> {
  const title = `${text} [job `;
  const card = () => stack.slack.messages.find((m) => String(m.text).startsWith(title) && String(m.text).includes(': finished'));
  await until(async () => card() !== undefined, 15_000, `the finished card of "${text}"`).catch((err: unknown) => {
    throw new Error(
      `${String(err)}; messages: ${JSON.stringify(stack.slack.messages.map((m) => m.text))}; answers: ${JSON.stringify(stack.slack.responses.map((r) => r.body.text))}`,
    );
  });
  return JSON.stringify(card()!.blocks);
}

/** The private answer to `/runner <text>` (through its response_url): its text, or its blocks' text when it has blocks. */
async function answerTo(text: string): Promise<string> {
  const url = stack.slack.responseUrl();
  await signedPost(stack.eventsUrl, slashCommandBody({ text, user_id: 'U0REQ', channel_id: 'C0OPS', response_url: url }), { secret: stack.signingSecret });
  await until(async () => stack.slack.responses.some((r) => r.url === url), 10_000, `an answer to "${text}"`);
  const bodies = stack.slack.responses.filter((r) => r.url === url).map((r) => r.body);
  return bodies
    .map((b) =>
      Array.isArray(b.blocks) ? (b.blocks as Array<{ text?: { text?: string } }>).map((block) => block.text?.text ?? '').join('\n') : String(b.text),
    )
    .join('\n');
}

describe('executeCommand', () => {
  it('freezes the stale runners a cleanup-stale request lists, and deletes only those once approved', async () => {
    const stale = [gitlab().addRunner({ description: 'gone-a' }), gitlab().addRunner({ description: 'gone-b' })] as const;
    for (const r of stale) r.contactedAt = new Date(Date.now() - 60 * DAY).toISOString();
    const before = stack.slack.messages.length;
    await slash('cleanup-stale --older-than 30d');
    await stack.slack.waitFor('chat.postMessage', (c) => c.params.channel === 'C0APPROVALS' && stack.slack.messages.length > before);
    const message = stack.slack.messages.filter((m) => m.channel === 'C0APPROVALS').at(-1)!;
    const blocks = JSON.stringify(message.blocks);
    expect(blocks).toContain(`deletes 2 runners: #${stale[0].id}, #${stale[1].id}\` on *GitLab*`);

    // Goes stale after the request: not on the approved list, so never deleted by it.
    const later = gitlab().addRunner({ description: 'stale later' });
    later.contactedAt = new Date(Date.now() - 90 * DAY).toISOString();
    const id = defined(/"value":"([0-9a-f]{12})"/.exec(blocks)?.[1], 'an approval id in the message');
    await signedPost(
      stack.eventsUrl,
      blockActionsBody({ action_id: APPROVE_ACTION, user_id: 'U0APP', channel_id: 'C0APPROVALS', message, value: id, block_id: `approval-${id}` }),
      { secret: stack.signingSecret },
    );
    const card = await finishedCard(`cleanup-stale --older-than 30d: deletes 2 runners: #${stale[0].id}, #${stale[1].id}`);
    expect(card).toContain('deleted 2 runners without contact since');
    expect(card).toContain(`#${stale[0].id} instance \\"gone-a\\"`);
    for (const r of stale) expect(gitlab().runner(r.id)).toBeUndefined();
    expect(gitlab().runner(later.id)).toBeDefined();
  });

  it('runs a dry run of cleanup-stale at once, without an approval, listing what would go', async () => {
    const before = stack.slack.messages.filter((m) => m.channel === 'C0APPROVALS').length;
    await slash('cleanup-stale --older-than 30d --dry-run');
    const card = await finishedCard('cleanup-stale --older-than 30d --dry-run');
    expect(card).toContain('would delete 1 runner without contact since');
    expect(card).toContain('stale later');
    expect(stack.slack.messages.filter((m) => m.channel === 'C0APPROVALS').length).toBe(before);
  });

  it('pauses one runner by id with the reason in GitLab and on the card', async () => {
    const runner = gitlab().addRunner({ description: 'to pause' });
    await slash(`pause #${runner.id} --reason "disk swap"`);
    const card = await finishedCard(`pause #${runner.id} --reason "disk swap"`);
    expect(card).toContain(`paused #${runner.id}; reason: disk swap`);
    expect(gitlab().runner(runner.id)).toMatchObject({ paused: true, maintenanceNote: 'paused with runnerops by U0REQ: disk swap' });
  });

  it('shows runners all on the card: each runner, and the host entry GitLab does not know', async () => {
    await slash('runners all');
    const card = await finishedCard('runners all');
    expect(card).toMatch(/runners in GitLab: \d+ online/);
    expect(card).toContain('to pause');
    expect(card).toContain('ex-1: config.toml entry \\"nix\\" (#101) is unknown to GitLab');

    const id = defined(/\[job ([0-9a-f]+)\]/.exec(card)?.[1], 'a job id on the card');
    const answer = await answerTo(`job ${id}`);
    expect(answer).toMatch(/runners in GitLab: \d+ online/);
    expect(answer).toContain('to pause');
    expect(answer).toContain('is unknown to GitLab');
  });

  it('answers a bad runner verb with one line saying what would be right', async () => {
    expect(await answerTo('unregister ex-1')).toBe(
      '```unregister needs --runner NAME|ID (the runner to delete); usage: unregister &lt;host&gt; [--runner NAME|ID] [--dry-run]```',
    );
  });

  it('gives the terminal the same words: runners all prints each runner once, unregister --dry-run says what would go', async () => {
    const lines: string[] = [];
    const code = await runTerminalCommand(stack.bot.bot.core, ['runners', 'all'], 'U0REQ', (line) => lines.push(line));
    expect(code).toBe(0);
    const out = lines.join('\n');
    expect(out).toMatch(/runners in GitLab: \d+ online/);
    expect(out.split('instance "to pause"').length - 1).toBe(1);

    const dry: string[] = [];
    expect(await runTerminalCommand(stack.bot.bot.core, ['unregister', 'ex-1', '--runner', 'nix', '--dry-run'], 'U0REQ', (line) => dry.push(line))).toBe(0);
    expect(dry.join('\n')).toContain('runner "nix" (#101) is already gone in GitLab; would remove "nix" from ex-1\'s config.toml (dry run: nothing changed)');

    const bad: string[] = [];
    expect(await runTerminalCommand(stack.bot.bot.core, ['cleanup-stale', '--older-than', '2d'], 'U0REQ', (line) => bad.push(line))).toBe(1);
    expect(bad).toEqual(['--older-than must be at least 7d: GitLab calls a runner stale only after 7 days without contact']);
  });
});
