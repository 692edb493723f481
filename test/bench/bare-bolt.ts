import http from 'node:http';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { freePort } from '../../src/dev/start-redis.js';

/** The baseline of the ack benchmarks: a Bolt app in HTTP mode whose `/runner` handler only acks. */
export async function startBareBolt(secret: string, token: string, apiUrl: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const receiver = new HTTPReceiver({ signingSecret: secret, processBeforeResponse: false, logLevel: LogLevel.ERROR });
  const app = new App({ token, receiver, clientOptions: { slackApiUrl: apiUrl }, logLevel: LogLevel.ERROR, deferInitialization: true });
  app.command('/runner', async ({ ack }) => ack());
  await app.init();
  const port = await freePort();
  const server = http.createServer(receiver.requestListener);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}/slack/events`, stop: () => new Promise((r) => server.close(() => r())) };
}
