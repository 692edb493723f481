import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '@slack/web-api';
import { expiryWarningBlocks } from '../../src/present/token-expiry-blocks.js';
import { isBroadcast, isLabelledLink } from '../fakes/slack/mrkdwn-syntax.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/server.js';

let slack: FakeSlack;
beforeAll(async () => {
  slack = await startFakeSlack();
});
afterAll(async () => slack.close());

describe('expiryWarningBlocks', () => {
  it('shows runner names from a host’s config.toml as text, never as a ping or link', async () => {
    const now = Date.now();
    const tokens = [
      { host: 'ci-1', runner: '<!channel>', runnerId: 1, expiresAt: now + 3_600_000, expired: false },
      { host: 'ci-1', runner: '<https://evil.example|docs> & <!here>', expiresAt: now - 1, expired: true },
    ];
    const client = new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const posted = await client.chat.postMessage({ channel: 'C0REPORTS', ...expiryWarningBlocks(tokens, now) });
    const message = slack.message(posted.channel!, posted.ts!)!;
    expect(message.sequences.filter((s) => isBroadcast(s) || isLabelledLink(s))).toEqual([]);
    expect(JSON.stringify(message.blocks)).toContain('&lt;!channel&gt;');
  });

  it('fits 50 blocks however many tokens expire', () => {
    const tokens = Array.from({ length: 200 }, (_, i) => ({ host: 'ci-1', runner: `r${i}`, runnerId: i + 1, expiresAt: Date.now(), expired: true }));
    const { blocks } = expiryWarningBlocks(tokens, Date.now());
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(JSON.stringify(blocks.at(-1))).toContain('155 more');
  });
});
