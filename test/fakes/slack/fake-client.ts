import { webApi } from '@slack/bolt';
import type { FakeSlack } from './server.js';

const { WebClient } = webApi;

/** WebClient logs Slack's `[ERROR]` response messages; the tests assert them instead. */
export const silentLogger: webApi.Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => webApi.LogLevel.ERROR,
  setName: () => undefined,
};

/** A WebClient on the fake that fails fast (no retries, rate limits rejected), for tests of the fake itself. */
export function fakeClient(fake: FakeSlack): InstanceType<typeof WebClient> {
  return new WebClient(fake.botToken, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logger: silentLogger });
}

/** The Slack error code a failed call answered (`not_in_channel`, ...), or the client's error code. */
export async function errorOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    const e = err as { code: string; data?: { error?: string } };
    return e.data?.error ?? e.code;
  }
  throw new Error('expected the call to fail');
}
