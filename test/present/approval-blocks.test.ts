import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '@slack/web-api';
import type { Approval } from '../../src/approvals/approval-store.js';
import { approvalBlocks, approveConfirmText } from '../../src/present/approval-blocks.js';
import { isBroadcast, isLabelledLink } from '../fakes/slack/mrkdwn-syntax.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/server.js';

let slack: FakeSlack;
beforeAll(async () => {
  slack = await startFakeSlack();
});
afterAll(async () => slack.close());

function approval(text: string, fields: Partial<Approval> = {}): Approval {
  return {
    id: '0123456789ab',
    text,
    request: { verb: 'rotate', host: 'ci-1' },
    requester: { via: 'slack', user: 'U0REQ', channel: 'C0OPS' },
    approvers: ['approvers'],
    state: 'pending',
    createdAt: Date.now(),
    expiresAt: Date.now() + 60_000,
    ...fields,
  } as Approval;
}

describe('approveConfirmText', () => {
  it('stays within 300 characters after escaping however long the command is', () => {
    for (const text of ['rotate ci-1', `rotate ci-1 --runner "${'&'.repeat(280)}"`, '<'.repeat(300)]) {
      const confirm = approveConfirmText({ text });
      expect(confirm.length).toBeLessThanOrEqual(300);
      expect(confirm.text.endsWith(' now.')).toBe(true);
    }
  });
});

describe('approvalBlocks', () => {
  it('posts a request whose escaped command is five times longer than typed', async () => {
    const client = new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const posted = await client.chat.postMessage({ channel: 'C0OPS', ...approvalBlocks(approval(`rotate ci-1 --runner "${'&'.repeat(280)}"`)) });
    expect(posted.ok).toBe(true);
  });

  it('shows a requester-typed reason and command as text, never as a ping or link', async () => {
    const client = new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const hostile = '<!channel> <https://evil.example|docs>';
    for (const a of [
      approval(`rotate ${hostile}`),
      approval(`rotate ${hostile}`, { state: 'denied', decidedBy: 'U0APP', decidedAt: Date.now(), reason: hostile, outcome: hostile }),
    ]) {
      const posted = await client.chat.postMessage({ channel: 'C0OPS', ...approvalBlocks(a) });
      const sequences = slack.message(posted.channel!, posted.ts!)!.sequences;
      expect(sequences.filter((s) => isBroadcast(s) || isLabelledLink(s))).toEqual([]);
    }
  });
});
