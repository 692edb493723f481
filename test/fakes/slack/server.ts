import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCallLog, type CallPredicate } from './call-log.js';
import { chatMethods } from './chat-methods.js';
import { directoryMethods } from './directory-methods.js';
import { createFaultQueue, type FakeSlackFault } from './faults.js';
import { fileMethods, UPLOAD_PATH } from './file-methods.js';
import type { MethodResult, MethodSpec } from './method-helpers.js';
import { readApiRequest, readBody, readMultipart } from './read-request.js';
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
  type TokenKind,
} from './state.js';
import { viewMethods } from './view-methods.js';

export type { CallPredicate } from './call-log.js';
export type { FakeSlackFault } from './faults.js';
export type { FakeResponse, ResponseUrlOptions } from './response-urls.js';
export type { EnvelopeType, SendEnvelopeOptions, SocketAck } from './socket-mode.js';
export type {
  FakeChannel,
  FakeEphemeral,
  FakeHomeView,
  FakeMessage,
  FakeMessageVersion,
  FakeSlackCall,
  FakeUpload,
  FakeUser,
  TokenKind,
} from './state.js';

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

function classifyToken(token: string | undefined, botToken: string, appToken: string): TokenKind {
  if (token === undefined) return 'missing';
  if (token === botToken) return 'bot';
  if (token === appToken) return 'app';
  return 'invalid';
}

function authError(spec: MethodSpec, bearerKind: TokenKind, anyKind: TokenKind): string | undefined {
  if (spec.token === 'app') {
    // apps.connections.open takes the app token in the Authorization header only.
    if (bearerKind === 'missing') return 'not_authed';
    if (bearerKind === 'invalid') return 'invalid_auth';
    return bearerKind === 'app' ? undefined : 'not_allowed_token_type';
  }
  if (anyKind === 'missing') return 'not_authed';
  if (anyKind === 'invalid') return 'invalid_auth';
  return anyKind === 'bot' ? undefined : 'not_allowed_token_type';
}

/** Arguments whose form-encoded value is JSON; calls record them parsed so tests can read blocks directly. */
const JSON_ARGS = ['blocks', 'attachments', 'view', 'files', 'metadata'];

function recordedParams(params: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...params };
  delete copy.token;
  for (const name of JSON_ARGS) {
    if (typeof copy[name] !== 'string') continue;
    try {
      copy[name] = JSON.parse(copy[name] as string);
    } catch {
      // Kept as sent: the method answers the format error.
    }
  }
  return copy;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
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

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, raw: Buffer): Promise<void> {
    const method = decodeURIComponent(url.pathname.slice('/api/'.length));
    const at = Date.now();
    const request = await readApiRequest(req, url, raw);
    const params = { ...request.params };
    delete params.token;
    const recorded = recordedParams(params);
    const bearerKind = request.ok ? classifyToken(request.bearer, botToken, appToken) : 'missing';
    const tokenKind = request.ok ? classifyToken(request.bearer ?? request.argToken, botToken, appToken) : 'missing';

    const answer = (status: number, body: MethodResult, headers?: Record<string, string>): void => {
      log.record({
        method,
        params: recorded,
        tokenKind,
        at,
        status,
        ok: status === 200 && body.ok,
        ...(body.ok ? {} : { error: body.error }),
      });
      sendJson(res, status, body, headers);
    };

    const spec = Object.hasOwn(methods, method) ? methods[method] : undefined;
    if (!spec) return answer(200, { ok: false, error: 'unknown_method' });
    if (!request.ok) return answer(200, { ok: false, error: request.error });

    const fault = faults.take(method);
    if (fault?.kind === 'rate_limited') {
      const seconds = fault.retryAfterSeconds ?? 1;
      return answer(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(seconds) });
    }
    if (fault?.kind === 'http_status') return answer(fault.status ?? 500, { ok: false, error: 'fatal_error' });
    if (fault?.kind === 'error') return answer(200, { ok: false, error: fault.error });

    const refused = authError(spec, bearerKind, tokenKind);
    if (refused) return answer(200, { ok: false, error: refused });
    return answer(200, spec.handle(params, { state, baseUrl, files: request.files }));
  }

  async function handleUpload(req: IncomingMessage, res: ServerResponse, url: URL, raw: Buffer): Promise<void> {
    const upload = state.uploads.get(decodeURIComponent(url.pathname.slice(UPLOAD_PATH.length)));
    if (!upload) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('upload URL not found');
      return;
    }
    const contentType = req.headers['content-type'] ?? '';
    let bytes = raw;
    if (contentType.toLowerCase().startsWith('multipart/form-data')) {
      const { files } = await readMultipart(contentType, raw);
      if (files.length === 0) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('no file part in the multipart body');
        return;
      }
      bytes = files[0].bytes;
    }
    upload.bytes = bytes;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${bytes.length}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    const raw = await readBody(req);
    if (url.pathname.startsWith('/api/') && (req.method === 'POST' || req.method === 'GET')) {
      return handleApi(req, res, url, raw);
    }
    if (url.pathname.startsWith(UPLOAD_PATH) && req.method === 'POST') return handleUpload(req, res, url, raw);
    if (url.pathname.startsWith(RESPONSE_PATH) && req.method === 'POST') return responseUrls.handle(req, res, url, raw);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('fake Slack: request failed', error);
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'fatal_error' });
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
