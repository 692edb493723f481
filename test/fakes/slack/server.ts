import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCallLog, type CallPredicate } from './call-log.js';
import { chatMethods } from './chat-methods.js';
import { directoryMethods } from './directory-methods.js';
import { createFaultQueue, type FakeSlackFault } from './faults.js';
import { createApiRoute } from './api-route.js';
import { fileMethods, receiveUpload, UPLOAD_PATH } from './file-methods.js';
import type { MethodSpec } from './method-helpers.js';
import { readBody } from './read-request.js';
import { createResponseUrls, RESPONSE_PATH, type FakeResponse, type ResponseUrlOptions } from './response-urls.js';
import { createSocketModeHub, SOCKET_PATH, type EnvelopeType, type SendEnvelopeOptions, type SocketAck } from './socket-mode.js';
import {
  createSlackState,
  generateToken,
  type FakeChannel,
  type FakeEphemeral,
  type FakeHomeView,
  type FakeMessage,
  type FakeSlackCall,
  type FakeUpload,
  type FakeUser,
} from './state.js';
import { viewMethods } from './view-methods.js';
import { messageSequences } from './mrkdwn-syntax.js';
import { createRateLimits, type RateLimitOptions } from './rate-limits.js';

export type { CallPredicate } from './call-log.js';
export type { FakeSlackFault } from './faults.js';
export type { FakeResponse, ResponseUrlOptions } from './response-urls.js';
export type { EnvelopeType, SendEnvelopeOptions, SocketAck } from './socket-mode.js';
export type { FakeChannel, FakeEphemeral, FakeHomeView, FakeMessage, FakeMessageVersion, FakeSlackCall, FakeUpload, FakeUser, TokenKind } from './state.js';

/** The workspace the fake plays unless told otherwise; the fixtures in test/fixtures/slack use the same ids. */
export const FAKE_WORKSPACE = {
  teamId: 'T0RUNNEROPS',
  teamDomain: 'runnerops-test',
  teamName: 'runnerops test',
  appId: 'A0RUNNEROPS',
  botUserId: 'U0RUNNERBOT',
  botId: 'B0RUNNERBOT',
  botName: 'runnerops',
} as const;

export interface FakeSlackOptions {
  /** Bot token the Web API accepts. @defaultValue a generated `xoxb-` token */
  botToken?: string;
  /** App-level token apps.connections.open accepts. @defaultValue a generated `xapp-` token */
  appToken?: string;
  /** @defaultValue FAKE_WORKSPACE.teamId (`T0RUNNEROPS`) */
  teamId?: string;
  /** @defaultValue FAKE_WORKSPACE.teamDomain (`runnerops-test`) */
  teamDomain?: string;
  /** @defaultValue FAKE_WORKSPACE.appId (`A0RUNNEROPS`) */
  appId?: string;
  /** @defaultValue FAKE_WORKSPACE.botUserId (`U0RUNNERBOT`) */
  botUserId?: string;
  /** @defaultValue FAKE_WORKSPACE.botId (`B0RUNNERBOT`) */
  botId?: string;
  /** Workspace members users.info describes. @defaultValue [] (any well-formed id is made up unless knownIdsOnly) */
  users?: FakeUser[];
  /** Conversations, e.g. to post by `#name`. @defaultValue [] (any well-formed id is accepted unless knownIdsOnly) */
  channels?: FakeChannel[];
  /** User groups: group id (`S...`) to member user ids. @defaultValue {} */
  usergroups?: Record<string, string[]>;
  /** Answer channel_not_found / user_not_found for ids not declared above. @defaultValue false */
  knownIdsOnly?: boolean;
  /** The app's bot scopes; `chat:write.public` lets chat.postMessage reach public channels the bot is not in. @defaultValue the manifest's */
  scopes?: string[];
  /**
   * Slack's per-workspace method tiers (calls per minute per method; chat.postMessage about one per second
   * per channel): a call over the limit answers 429 with Retry-After. @defaultValue off
   */
  rateLimits?: boolean | RateLimitOptions;
  /** How long sendEnvelope waits for an ack. @defaultValue 3000 (Slack's deadline) */
  ackTimeoutMs?: number;
  /** Interval of the server's WebSocket pings to Socket Mode clients. @defaultValue 5000 */
  socketPingIntervalMs?: number;
  /** Default timeout of waitFor and waitForSocket. @defaultValue 5000 */
  waitTimeoutMs?: number;
}

/** A running fake Slack: Web API at `apiUrl`, Socket Mode WebSocket, upload URLs, and what it saw. */
export interface FakeSlack {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `http://127.0.0.1:PORT/api/`, for `clientOptions.slackApiUrl` / `SLACK_API_URL`. */
  readonly apiUrl: string;
  readonly port: number;
  readonly botToken: string;
  readonly appToken: string;
  readonly teamId: string;
  readonly appId: string;
  readonly botUserId: string;
  readonly botId: string;

  /** Every Web API call so far (optionally of one method), oldest first. */
  calls(method?: string): FakeSlackCall[];
  /** The first call of `method` matching `predicate` (earlier calls count); rejects after timeoutMs naming what was seen. */
  waitFor(method: string, predicate?: CallPredicate, timeoutMs?: number): Promise<FakeSlackCall>;
  /** Messages posted (and seeded), oldest first, with their chat.update history. */
  readonly messages: FakeMessage[];
  /** One message by channel id and ts. */
  message(channel: string, ts: string): FakeMessage | undefined;
  readonly ephemerals: FakeEphemeral[];
  /** The current App Home per user id. */
  readonly homeViews: ReadonlyMap<string, FakeHomeView>;
  /** Files whose upload was completed (shared), oldest first, with their bytes. */
  readonly uploads: FakeUpload[];
  /** Modals as views.open / views.update left them, by view id. */
  readonly modals: ReadonlyMap<string, Record<string, unknown>>;

  /**
   * A response URL on the fake (for slash command and button payloads), so `respond()` stays on loopback;
   * like Slack's it takes 5 posts within 30 minutes unless told otherwise.
   */
  responseUrl(options?: ResponseUrlOptions): string;
  /** Every POST to a response URL, oldest first. */
  readonly responses: FakeResponse[];

  /** Plays `fault` for the next `times` calls of `method` instead of answering. */
  injectFault(method: string, fault: FakeSlackFault, times?: number): void;
  clearFaults(): void;
  /** Defines or replaces a user group's members (usergroups.users.list). */
  setUsergroup(id: string, userIds: string[]): void;
  addUser(user: FakeUser): void;
  addChannel(channel: FakeChannel): void;
  /** Puts a message by someone else (default: a person) in a channel, e.g. to see chat.update refuse it. */
  seedMessage(message: { channel: string; text: string; user?: string; blocks?: unknown[]; thread_ts?: string }): FakeMessage;

  /** Sends an envelope to the newest Socket Mode connection and resolves with the ack's payload (`{}` for a bare ack). */
  sendEnvelope(type: EnvelopeType, payload: Record<string, unknown>, options?: SendEnvelopeOptions): Promise<Record<string, unknown>>;
  /** Resolves once a Socket Mode client has connected (hello sent). */
  waitForSocket(timeoutMs?: number): Promise<void>;
  /** Resolves once every Socket Mode connection has closed (Bolt's `app.stop()` returns before the close handshake ends). */
  waitForSocketsClosed(timeoutMs?: number): Promise<void>;
  /** Sends `{type:'disconnect', reason}` to every connection, as Slack does before recycling one. */
  disconnectSockets(reason?: 'refresh_requested' | 'warning' | 'link_disabled'): void;
  /** Open Socket Mode connections. */
  readonly socketConnections: number;
  /** Every ack received, oldest first. */
  readonly socketAcks: SocketAck[];

  /** Forgets calls, messages, ephemerals, home views, uploads, responses, acks and faults (keeps users, channels, groups). */
  reset(): void;
  /** Stops the server; stop Bolt apps first, or their Socket Mode client will try to reconnect. */
  close(): Promise<void>;
}

/** Starts a fake Slack on 127.0.0.1 and a free port. */
export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const botToken = options.botToken ?? generateToken('xoxb');
  const appToken = options.appToken ?? generateToken('xapp');
  const identity = {
    ...FAKE_WORKSPACE,
    ...(options.teamId ? { teamId: options.teamId } : {}),
    ...(options.teamDomain ? { teamDomain: options.teamDomain } : {}),
    ...(options.appId ? { appId: options.appId } : {}),
    ...(options.botUserId ? { botUserId: options.botUserId } : {}),
    ...(options.botId ? { botId: options.botId } : {}),
    botToken,
    appToken,
  };
  const state = createSlackState({
    identity,
    users: options.users ?? [],
    channels: options.channels ?? [],
    usergroups: options.usergroups ?? {},
    knownIdsOnly: options.knownIdsOnly ?? false,
    scopes: options.scopes ?? ['chat:write', 'commands', 'files:write', 'usergroups:read'],
  });
  const log = createCallLog();
  const responseUrls = createResponseUrls();
  const faults = createFaultQueue();
  const waitTimeoutMs = options.waitTimeoutMs ?? 5000;
  const hub = createSocketModeHub({
    appId: identity.appId,
    ackTimeoutMs: options.ackTimeoutMs ?? 3000,
    pingIntervalMs: options.socketPingIntervalMs ?? 5000,
  });
  let baseUrl = '';

  const methods: Record<string, MethodSpec> = {
    ...directoryMethods,
    ...chatMethods,
    ...viewMethods,
    ...fileMethods,
    'apps.connections.open': {
      token: 'app',
      handle: () => ({
        ok: true,
        url: `${baseUrl.replace(/^http/, 'ws')}${SOCKET_PATH}?ticket=${hub.issueTicket()}&app_id=${identity.appId}`,
      }),
    },
  };

  const answerApiCall = createApiRoute({
    methods,
    state,
    log,
    faults,
    ...(options.rateLimits ? { rateLimits: createRateLimits(options.rateLimits === true ? {} : options.rateLimits) } : {}),
    baseUrl: () => baseUrl,
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    const raw = await readBody(req);
    if (url.pathname.startsWith('/api/') && (req.method === 'POST' || req.method === 'GET')) {
      return answerApiCall(req, res, url, raw);
    }
    if (url.pathname.startsWith(UPLOAD_PATH) && req.method === 'POST') return receiveUpload(state, req, res, url, raw);
    if (url.pathname.startsWith(RESPONSE_PATH) && req.method === 'POST') return responseUrls.handle(req, res, url, raw);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('fake Slack: request failed', error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"ok":false,"error":"fatal_error"}');
      else res.destroy();
    });
  });
  server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    apiUrl: `${baseUrl}/api/`,
    port,
    botToken,
    appToken,
    teamId: identity.teamId,
    appId: identity.appId,
    botUserId: identity.botUserId,
    botId: identity.botId,
    calls: (method) => log.list(method),
    waitFor: (method, predicate = () => true, timeoutMs = waitTimeoutMs) => log.waitFor(method, predicate, timeoutMs),
    get messages() {
      return [...state.messages];
    },
    message: (channel, ts) => state.messages.find((m) => m.channel === channel && m.ts === ts),
    get ephemerals() {
      return [...state.ephemerals];
    },
    get homeViews() {
      return new Map(state.homeViews);
    },
    get uploads() {
      return [...state.uploads.values()].filter((u) => u.completed);
    },
    get modals() {
      return new Map(state.modals);
    },
    responseUrl: (responseOptions) => responseUrls.issue(baseUrl, identity.teamId, responseOptions),
    get responses() {
      return [...responseUrls.responses];
    },
    injectFault: (method, fault, times = 1) => faults.add(method, fault, times),
    clearFaults: () => faults.clear(),
    setUsergroup: (id, userIds) => void state.usergroups.set(id, [...userIds]),
    addUser: (user) => void state.users.set(user.id, user),
    addChannel: (channel) => void state.channels.set(channel.id, channel),
    seedMessage({ channel, text, user = 'U0SOMEONE01', blocks, thread_ts }) {
      const message: FakeMessage = {
        channel,
        ts: state.nextTs(),
        text,
        ...(blocks ? { blocks } : {}),
        ...(thread_ts ? { thread_ts } : {}),
        user,
        truncated: false,
        sequences: messageSequences(text, blocks),
        updates: [],
        postedAt: Date.now(),
      };
      state.messages.push(message);
      return message;
    },
    sendEnvelope: (type, payload, envelopeOptions) => hub.sendEnvelope(type, payload, envelopeOptions),
    waitForSocket: (timeoutMs = waitTimeoutMs) => hub.waitForConnection(timeoutMs),
    waitForSocketsClosed: (timeoutMs = waitTimeoutMs) => hub.waitForNoConnection(timeoutMs),
    disconnectSockets: (reason = 'refresh_requested') => hub.disconnectAll(reason),
    get socketConnections() {
      return hub.connectionCount();
    },
    get socketAcks() {
      return [...hub.acks];
    },
    reset() {
      log.reset();
      faults.clear();
      state.messages.length = 0;
      state.ephemerals.length = 0;
      state.homeViews.clear();
      state.modals.clear();
      state.uploads.clear();
      hub.acks.length = 0;
      responseUrls.reset();
    },
    async close() {
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
