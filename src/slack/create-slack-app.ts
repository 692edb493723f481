import http from 'node:http';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { BotSettings } from '../config.js';
import type { Logger } from '../logger.js';

/** Slack retries requests whose timestamp is more than 5 minutes off; we refuse skew both ways. */
export const MAX_SKEW_SECONDS = 300;

export interface SlackApp {
  app: App;
  /** HTTP mode only: the server serving POST /slack/events. */
  server?: http.Server;
  start: () => Promise<void>;
  stop: () => Promise<void>;
}

function boltLogger(log: Logger) {
  const child = log.child({ component: 'bolt' });
  return {
    debug: (...msg: unknown[]) => child.debug(msg.map(String).join(' ')),
    info: (...msg: unknown[]) => child.info(msg.map(String).join(' ')),
    warn: (...msg: unknown[]) => child.warn(msg.map(String).join(' ')),
    error: (...msg: unknown[]) => child.error(msg.map(String).join(' ')),
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: () => undefined,
  };
}

/**
 * Refuses requests to /slack/events whose timestamp is missing or too far in the past OR the future
 * before Bolt sees them (Bolt itself only checks the past), then hands over to Bolt's receiver, which
 * verifies the signature.
 */
export function guardTimestamps(listener: http.RequestListener, now: () => number = Date.now): http.RequestListener {
  return (req, res) => {
    const raw = req.headers['x-slack-request-timestamp'];
    const ts = Number(Array.isArray(raw) ? raw[0] : raw);
    if (req.method === 'POST' && (!Number.isFinite(ts) || Math.abs(now() / 1000 - ts) > MAX_SKEW_SECONDS)) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('request timestamp missing or outside the allowed window');
      req.resume();
      return;
    }
    listener(req, res);
  };
}

/** The Bolt app in Socket Mode (SLACK_APP_TOKEN) or HTTP mode (SLACK_SIGNING_SECRET on PORT). */
export function createSlackApp(settings: BotSettings, mode: 'socket' | 'http', log: Logger): SlackApp {
  const clientOptions = settings.slackApiUrl ? { slackApiUrl: settings.slackApiUrl } : {};
  const logger = boltLogger(log);
  if (mode === 'socket') {
    const app = new App({
      token: settings.slackBotToken!,
      appToken: settings.slackAppToken!,
      socketMode: true,
      clientOptions,
      logger,
      deferInitialization: true,
    });
    return {
      app,
      start: async () => {
        await app.init();
        await app.start();
      },
      stop: async () => void (await app.stop()),
    };
  }
  const receiver = new HTTPReceiver({ signingSecret: settings.slackSigningSecret!, endpoints: '/slack/events', processBeforeResponse: false, logger });
  const app = new App({ token: settings.slackBotToken!, receiver, clientOptions, logger, deferInitialization: true });
  const server = http.createServer(guardTimestamps(receiver.requestListener));
  return {
    app,
    server,
    start: async () => {
      await app.init();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(settings.port, () => resolve());
      });
    },
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
