import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { firstLine } from '../errors.js';
import type { Logger } from '../logger.js';
import { redact } from '../secrets/redact.js';
import type { HealthCheck } from './health-checks.js';

export interface OpsServerOptions {
  /** TCP port; 0 picks a free one (the caller skips the server when RUNNEROPS_METRICS_PORT is 0). */
  port: number;
  /** Address to listen on. @defaultValue `0.0.0.0` (Prometheus scrapes from another host) */
  host?: string;
  /** Checks behind /healthz, run in parallel on every request. */
  checks: HealthCheck[];
  /** The process's metrics registry, served on /metrics. */
  registry: Registry;
  log: Logger;
}

export interface CheckResult {
  ok: boolean;
  /** Milliseconds the check took (or waited before timing out). */
  ms: number;
  /** What the check said when it passed. */
  detail?: string;
  /** One line saying what failed, tokens masked. */
  error?: string;
}

export interface HealthReport {
  status: 'ok' | 'failing';
  checks: Record<string, CheckResult>;
}

export interface OpsServer {
  /** The port actually bound. */
  port: number;
  close: () => Promise<void>;
}

const DEFAULT_CHECK_TIMEOUT_MS = 2000;

/**
 * Runs every check with its own timeout. A check still running from an earlier request is joined
 * rather than started again, so a hung dependency cannot pile up probes.
 */
export function createHealthRunner(checks: HealthCheck[]): () => Promise<HealthReport> {
  const running = new Map<string, Promise<CheckResult>>();
  const runOne = async (check: HealthCheck): Promise<CheckResult> => {
    const timeoutMs = check.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
    const controller = new AbortController();
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
    });
    try {
      const detail = await Promise.race([check.check(controller.signal), timedOut]);
      return { ok: true, ms: Math.round(performance.now() - started), ...(detail ? { detail: redact(firstLine(detail)) } : {}) };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, ms: Math.round(performance.now() - started), error: redact(firstLine(message)) || 'failed' };
    } finally {
      clearTimeout(timer);
    }
  };
  return async () => {
    const results = await Promise.all(
      checks.map(async (check) => {
        let pending = running.get(check.name);
        if (!pending) {
          pending = runOne(check).finally(() => running.delete(check.name));
          running.set(check.name, pending);
        }
        return [check.name, await pending] as const;
      }),
    );
    const byName = Object.fromEntries(results);
    return { status: results.every(([, r]) => r.ok) ? 'ok' : 'failing', checks: byName };
  };
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

/**
 * Serves `GET /healthz` (JSON; 200 when every check passes, 503 otherwise) and `GET /metrics`
 * (Prometheus text from the process's registry) on its own port, apart from Slack's.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { registry, log } = options;
  const runHealth = createHealthRunner(options.checks);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const head = req.method === 'HEAD';
    if (path !== '/healthz' && path !== '/metrics') {
      send(res, 404, 'application/json', JSON.stringify({ error: 'not found; try /healthz or /metrics' }), head);
      return;
    }
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'application/json', JSON.stringify({ error: 'only GET and HEAD are allowed' }), head);
      return;
    }
    const work =
      path === '/healthz'
        ? runHealth().then((report) => {
            if (report.status !== 'ok') log.warn({ checks: report.checks }, 'health check failing');
            send(res, report.status === 'ok' ? 200 : 503, 'application/json', JSON.stringify(report), head);
          })
        : registry.metrics().then((text) => send(res, 200, registry.contentType, text, head));
    work.catch((err: unknown) => {
      log.error({ err, path }, 'ops endpoint failed');
      if (!res.headersSent) send(res, 500, 'application/json', JSON.stringify({ error: 'internal error; see the process log' }), head);
      else res.destroy();
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, paths: ['/healthz', '/metrics'] }, 'ops server listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
