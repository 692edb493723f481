import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRateLimits } from './rate-limits.js';
import { fakeClient } from './fake-client.js';
import { startFakeSlack, type FakeSlack } from './server.js';

describe('createRateLimits', () => {
  it('allows a tier 3 method 50 calls in a minute and then says how long to wait', () => {
    const limits = createRateLimits();
    const now = 1_000_000;
    for (let i = 0; i < 50; i++) expect(limits.take('chat.update', {}, now + i)).toBeUndefined();
    expect(limits.take('chat.update', {}, now + 50)).toBe(60);
    expect(limits.take('chat.update', {}, now + 60_001)).toBeUndefined();
  });

  it('limits chat.postMessage per channel, not per workspace', () => {
    const limits = createRateLimits({ postsPerWindow: 2, postWindowMs: 1000 });
    expect(limits.take('chat.postMessage', { channel: 'C1' }, 0)).toBeUndefined();
    expect(limits.take('chat.postMessage', { channel: 'C1' }, 1)).toBeUndefined();
    expect(limits.take('chat.postMessage', { channel: 'C1' }, 2)).toBe(1);
    expect(limits.take('chat.postMessage', { channel: 'C2' }, 2)).toBeUndefined();
  });
});

describe('a fake with rate limits', () => {
  let fake: FakeSlack;
  beforeAll(async () => {
    fake = await startFakeSlack({ rateLimits: { perMinute: { 'chat.update': 2 } } });
  });
  afterAll(async () => fake.close());

  it('answers 429 with Retry-After once a method is over its tier', async () => {
    const client = fakeClient(fake);
    const posted = await client.chat.postMessage({ channel: 'C0RATE', text: 'card' });
    await client.chat.update({ channel: 'C0RATE', ts: posted.ts!, text: 'one' });
    await client.chat.update({ channel: 'C0RATE', ts: posted.ts!, text: 'two' });
    await expect(client.chat.update({ channel: 'C0RATE', ts: posted.ts!, text: 'three' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      retryAfter: 60,
    });
    expect(fake.calls('chat.update').map((c) => c.status)).toEqual([200, 200, 429]);
  });
});
