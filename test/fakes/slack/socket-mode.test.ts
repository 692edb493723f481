import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { App, LogLevel, SocketModeReceiver } from '@slack/bolt';
import WebSocket from 'ws';
import { appHomeOpenedEvent, blockActionsPayload, eventCallbackPayload, slashCommandPayload } from '../../helpers/slack-requests.js';
import { startFakeSlack, type FakeSlack } from './server.js';

let fake: FakeSlack;
const apps: App[] = [];

/** A Bolt 5 app in Socket Mode against the fake, as `runnerops bot` builds it with SLACK_APP_TOKEN. */
function socketApp(receiverOptions: { clientPingTimeout?: number } = {}): App {
  const clientOptions = { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } };
  const app =
    receiverOptions.clientPingTimeout === undefined
      ? new App({ socketMode: true, appToken: fake.appToken, token: fake.botToken, clientOptions, logLevel: LogLevel.ERROR })
      : new App({
          receiver: new SocketModeReceiver({
            appToken: fake.appToken,
            clientPingTimeout: receiverOptions.clientPingTimeout,
            logLevel: LogLevel.ERROR,
            installerOptions: { clientOptions },
          }),
          token: fake.botToken,
          clientOptions,
          logLevel: LogLevel.ERROR,
        });
  apps.push(app);
  return app;
}

beforeAll(async () => {
  fake = await startFakeSlack({ socketPingIntervalMs: 200 });
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await fake.waitForSocketsClosed();
  fake.reset();
});

afterAll(async () => {
  await fake.close();
});

describe('sendEnvelope', () => {
  it('delivers a slash command to a Bolt app that acks and posts a message', async () => {
    const app = socketApp();
    app.command('/runner', async ({ ack, command, client }) => {
      await ack();
      await client.chat.postMessage({ channel: command.channel_id, text: `queued: ${command.text}` });
    });
    await app.start();

    const ackPayload = await fake.sendEnvelope('slash_commands', slashCommandPayload({ text: 'ping all' }));
    expect(ackPayload).toEqual({});
    const posted = await fake.waitFor('chat.postMessage', (c) => c.params.text === 'queued: ping all');
    expect(posted.params.channel).toBe('C0OPSCHAN01');
    expect(fake.messages.map((m) => m.text)).toEqual(['queued: ping all']);
    expect(fake.calls('apps.connections.open')).toHaveLength(1);
  });

  it('resolves with the payload of an ack that carries a response', async () => {
    const app = socketApp();
    app.command('/runner', async ({ ack }) => {
      await ack({ response_type: 'ephemeral', text: 'unknown verb "prnue"; did you mean "prune"?' });
    });
    await app.start();
    const ackPayload = await fake.sendEnvelope('slash_commands', slashCommandPayload({ text: 'prnue ci-1' }));
    expect(ackPayload).toEqual({ response_type: 'ephemeral', text: 'unknown verb "prnue"; did you mean "prune"?' });
    expect(fake.socketAcks.at(-1)?.latencyMs).toBeLessThan(3000);
  });

  it('delivers a button click as an interactive envelope', async () => {
    const app = socketApp();
    const clicked: Array<{ user: string; value: string | undefined }> = [];
    app.action('approval.approve', async ({ ack, body, action }) => {
      await ack();
      clicked.push({ user: body.user.id, value: 'value' in action ? action.value : undefined });
    });
    await app.start();
    await fake.sendEnvelope('interactive', blockActionsPayload({ action_id: 'approval.approve', value: 'apr_7' }));
    expect(clicked).toEqual([{ user: 'U0APPROVER1', value: 'apr_7' }]);
  });

  it('delivers an app_home_opened event that leads to views.publish', async () => {
    const app = socketApp();
    app.event('app_home_opened', async ({ event, client }) => {
      await client.views.publish({ user_id: event.user, view: { type: 'home', blocks: [{ type: 'divider' }] } });
    });
    await app.start();
    await fake.sendEnvelope('events_api', eventCallbackPayload(appHomeOpenedEvent({ user: 'U0OPERATOR1' })));
    await fake.waitFor('views.publish');
    expect(fake.homeViews.get('U0OPERATOR1')?.blocks).toEqual([{ type: 'divider' }]);
  });

  it('rejects clearly when the app never acks', async () => {
    const app = socketApp();
    app.command('/runner', async () => {
      // Forgets to ack, the bug Slack's 3-second deadline punishes.
    });
    await app.start();
    await expect(fake.sendEnvelope('slash_commands', slashCommandPayload(), { timeoutMs: 300 })).rejects.toThrow(
      /no ack for slash_commands envelope .* within 300 ms/,
    );
  });

  it('rejects at once when no client is connected', async () => {
    await expect(fake.sendEnvelope('slash_commands', slashCommandPayload())).rejects.toThrow(/no Socket Mode client is connected/);
  });
});

describe('disconnectSockets', () => {
  it('makes the client reconnect with a fresh URL and keeps delivering envelopes', async () => {
    const app = socketApp({ clientPingTimeout: 300 });
    const seen: string[] = [];
    app.command('/runner', async ({ ack, command }) => {
      await ack();
      seen.push(command.text);
    });
    await app.start();
    await fake.sendEnvelope('slash_commands', slashCommandPayload({ text: 'before' }));

    fake.disconnectSockets('refresh_requested');
    await fake.waitFor('apps.connections.open', () => fake.calls('apps.connections.open').length >= 2, 5000);
    await fake.waitForSocket(5000);
    await expect.poll(() => fake.socketConnections, { timeout: 5000 }).toBe(1);
    await fake.sendEnvelope('slash_commands', slashCommandPayload({ text: 'after' }));
    expect(seen).toEqual(['before', 'after']);
  });

  it('keeps a quiet connection open past the client ping timeout (pings are answered)', async () => {
    const app = socketApp({ clientPingTimeout: 300 });
    app.command('/runner', async ({ ack }) => {
      await ack();
    });
    await app.start();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(fake.calls('apps.connections.open')).toHaveLength(1);
    await expect(fake.sendEnvelope('slash_commands', slashCommandPayload())).resolves.toEqual({});
  });
});

describe('waitForSocketsClosed', () => {
  it('resolves once a stopped app has finished the close handshake', async () => {
    const app = socketApp();
    await app.start();
    expect(fake.socketConnections).toBe(1);
    await app.stop();
    await fake.waitForSocketsClosed(2000);
    expect(fake.socketConnections).toBe(0);
  });
});

describe('waitForSocket', () => {
  it('refuses a WebSocket without a ticket from apps.connections.open', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${fake.port}/socket?ticket=forged`);
    const status = await new Promise<number | undefined>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.on('error', () => resolve(undefined));
    });
    ws.terminate();
    expect(status).toBe(401);
    await expect(fake.waitForSocket(100)).rejects.toThrow(/no Socket Mode client connected within 100 ms/);
  });
});
