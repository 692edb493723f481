import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';

/** The path Socket Mode URLs point at. */
export const SOCKET_PATH = '/socket';

/** Envelope types Slack sends over Socket Mode. */
export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

/** An ack the app sent back: `{envelope_id, payload?}`. */
export interface SocketAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
  /** Epoch milliseconds when the ack arrived. */
  receivedAt: number;
  /** Milliseconds between sending the envelope and receiving the ack (undefined for an ack of no known envelope). */
  latencyMs?: number;
}

/** Options for one envelope. */
export interface SendEnvelopeOptions {
  /** How long to wait for the ack. @defaultValue the fake's ackTimeoutMs (3000, Slack's deadline) */
  timeoutMs?: number;
  /** @defaultValue true for slash commands and view submissions, false otherwise (as Slack sends) */
  acceptsResponsePayload?: boolean;
  /** Envelope id. @defaultValue a random UUID */
  envelopeId?: string;
  /** events_api only: which delivery attempt this is. @defaultValue 0 */
  retryAttempt?: number;
}

interface Pending {
  type: EnvelopeType;
  sentAt: number;
  resolve(payload: Record<string, unknown>): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** The Socket Mode side of the fake: tickets, connections, envelopes and acks. */
export interface SocketModeHub {
  /** A one-use ticket for the URL apps.connections.open returns. */
  issueTicket(): string;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  sendEnvelope(type: EnvelopeType, payload: Record<string, unknown>, options?: SendEnvelopeOptions): Promise<Record<string, unknown>>;
  waitForConnection(timeoutMs: number): Promise<void>;
  waitForNoConnection(timeoutMs: number): Promise<void>;
  disconnectAll(reason: string): void;
  connectionCount(): number;
  readonly acks: SocketAck[];
  close(): Promise<void>;
}

export interface SocketModeHubOptions {
  appId: string;
  ackTimeoutMs: number;
  pingIntervalMs: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function defaultAcceptsResponse(type: EnvelopeType, payload: Record<string, unknown>): boolean {
  if (type === 'slash_commands') return true;
  if (type === 'interactive') return payload.type === 'view_submission' || payload.type === 'block_suggestion';
  return false;
}

/** Builds the Socket Mode hub; the HTTP server forwards upgrades on SOCKET_PATH to it. */
export function createSocketModeHub(options: SocketModeHubOptions): SocketModeHub {
  const wss = new WebSocketServer({ noServer: true });
  const tickets = new Set<string>();
  const open: WebSocket[] = [];
  const pending = new Map<string, Pending>();
  const acks: SocketAck[] = [];
  const connectionWaiters = new Set<() => void>();
  const closeWaiters = new Set<() => void>();

  function waitUntil(condition: () => boolean, waiters: Set<() => void>, timeoutMs: number, what: () => string): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        if (!condition()) return;
        waiters.delete(wake);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(new Error(`fake Slack: ${what()} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(wake);
    });
  }

  function onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) return;
    let message: unknown;
    try {
      message = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (!isRecord(message) || typeof message.envelope_id !== 'string') return;
    const envelopeId = message.envelope_id;
    const payload = isRecord(message.payload) ? message.payload : undefined;
    const waiting = pending.get(envelopeId);
    const receivedAt = Date.now();
    acks.push({
      envelope_id: envelopeId,
      ...(payload ? { payload } : {}),
      receivedAt,
      ...(waiting ? { latencyMs: receivedAt - waiting.sentAt } : {}),
    });
    if (waiting) {
      pending.delete(envelopeId);
      clearTimeout(waiting.timer);
      waiting.resolve(payload ?? {});
    }
  }

  wss.on('connection', (ws: WebSocket) => {
    open.push(ws);
    const pinger = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.ping(Buffer.from(`ping-${Date.now()}`));
    }, options.pingIntervalMs);
    pinger.unref();
    ws.on('message', onMessage);
    ws.on('close', () => {
      clearInterval(pinger);
      const index = open.indexOf(ws);
      if (index >= 0) open.splice(index, 1);
      for (const wake of [...closeWaiters]) wake();
    });
    ws.on('error', () => ws.terminate());
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: open.length,
        debug_info: { host: 'applink-fake-slack', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: options.appId },
      }),
    );
    for (const wake of [...connectionWaiters]) wake();
  });

  return {
    acks,
    issueTicket() {
      const ticket = randomBytes(12).toString('hex');
      tickets.add(ticket);
      return ticket;
    },
    handleUpgrade(req, socket, head) {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const ticket = url.searchParams.get('ticket');
      if (url.pathname !== SOCKET_PATH || ticket === null || !tickets.delete(ticket)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    sendEnvelope(type, payload, envelopeOptions = {}) {
      const ws = open.at(-1);
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        return Promise.reject(new Error(`fake Slack: cannot send a ${type} envelope, no Socket Mode client is connected (did the app start?)`));
      }
      const envelopeId = envelopeOptions.envelopeId ?? randomUUID();
      const timeoutMs = envelopeOptions.timeoutMs ?? options.ackTimeoutMs;
      const envelope: Record<string, unknown> = {
        envelope_id: envelopeId,
        type,
        payload,
        accepts_response_payload: envelopeOptions.acceptsResponsePayload ?? defaultAcceptsResponse(type, payload),
        ...(type === 'events_api' ? { retry_attempt: envelopeOptions.retryAttempt ?? 0, retry_reason: envelopeOptions.retryAttempt ? 'timeout' : '' } : {}),
      };
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(envelopeId);
          reject(new Error(`fake Slack: no ack for ${type} envelope ${envelopeId} within ${timeoutMs} ms (Slack shows the user an error after 3 s)`));
        }, timeoutMs);
        pending.set(envelopeId, { type, sentAt: Date.now(), resolve, reject, timer });
        ws.send(JSON.stringify(envelope));
      });
    },
    waitForConnection(timeoutMs) {
      return waitUntil(
        () => open.length > 0,
        connectionWaiters,
        timeoutMs,
        () => 'no Socket Mode client connected',
      );
    },
    waitForNoConnection(timeoutMs) {
      return waitUntil(
        () => open.length === 0,
        closeWaiters,
        timeoutMs,
        () => `${open.length} Socket Mode connection(s) still open`,
      );
    },
    disconnectAll(reason) {
      const message = JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-fake-slack' } });
      for (const ws of open) if (ws.readyState === WebSocket.OPEN) ws.send(message);
    },
    connectionCount() {
      return open.length;
    },
    async close() {
      for (const [id, waiting] of pending) {
        clearTimeout(waiting.timer);
        waiting.reject(new Error(`fake Slack: closed before envelope ${id} was acked`));
      }
      pending.clear();
      for (const ws of [...open]) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
