import { afterEach, describe, expect, it } from 'vitest';
import { Registry, Counter } from 'prom-client';
import { createLogger } from '../../src/logger.js';
import { createHealthRunner, startOpsServer, type OpsServer } from '../../src/ops/start-ops-server.js';
import type { HealthCheck } from '../../src/ops/health-checks.js';

const log = createLogger({ name: 'test', level: 'silent' });
const passing = (name: string, detail?: string): HealthCheck => ({ name, check: async () => detail });
const failing = (name: string, message: string): HealthCheck => ({
  name,
  check: async () => {
    throw new Error(message);
  },
});

describe('startOpsServer', () => {
  let server: OpsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(checks: HealthCheck[], registry = new Registry()): Promise<string> {
    server = await startOpsServer({ port: 0, host: '127.0.0.1', checks, registry, log });
    return `http://127.0.0.1:${server.port}`;
  }

  it('answers /healthz with 200 and every check when all pass', async () => {
    const base = await start([passing('redis'), passing('docker', 'API 1.41')]);
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
    expect(body.status).toBe('ok');
    expect(Object.keys(body.checks).sort()).toEqual(['docker', 'redis']);
    expect(body.checks.docker).toMatchObject({ ok: true, detail: 'API 1.41' });
  });

  it('answers /healthz with 503 naming the failing check and its one-line reason', async () => {
    const base = await start([passing('redis'), failing('docker', 'connect ENOENT /var/run/docker.sock\n    at stack')]);
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> };
    expect(body.status).toBe('failing');
    expect(body.checks.redis?.ok).toBe(true);
    expect(body.checks.docker).toMatchObject({ ok: false, error: 'connect ENOENT /var/run/docker.sock' });
  });

  it('masks a token that appears in a check error', async () => {
    const base = await start([failing('gitlab', 'rejected glrt-abcdefghijklmnop')]);
    const text = await (await fetch(`${base}/healthz`)).text();
    expect(text).not.toContain('abcdefghijklmnop');
    expect(text).toContain('glrt-[REDACTED]');
  });

  it('serves the registry as Prometheus text on /metrics', async () => {
    const registry = new Registry();
    new Counter({ name: 'runnerops_test_total', help: 'a test counter', registers: [registry] }).inc(3);
    const base = await start([], registry);
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('runnerops_test_total 3');
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    const base = await start([]);
    expect((await fetch(`${base}/`)).status).toBe(404);
    const post = await fetch(`${base}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('fails to start with the reason when the port is taken', async () => {
    const base = await start([]);
    const port = Number(new URL(base).port);
    await expect(startOpsServer({ port, host: '127.0.0.1', checks: [], registry: new Registry(), log })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('createHealthRunner', () => {
  it('fails a check that does not answer within its timeout and aborts its signal', async () => {
    let aborted = false;
    const hung: HealthCheck = {
      name: 'docker',
      timeoutMs: 100,
      check: (signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            setTimeout(resolve, 10_000).unref();
          });
        }),
    };
    const started = Date.now();
    const report = await createHealthRunner([hung, passing('redis')])();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(report.status).toBe('failing');
    expect(report.checks.docker).toMatchObject({ ok: false, error: 'no answer within 100 ms' });
    expect(report.checks.redis?.ok).toBe(true);
    expect(aborted).toBe(true);
  });

  it('joins a check still running instead of starting it again', async () => {
    let calls = 0;
    const slow: HealthCheck = {
      name: 'redis',
      check: () => {
        calls += 1;
        return new Promise((r) => setTimeout(r, 100));
      },
    };
    const run = createHealthRunner([slow]);
    const [a, b] = await Promise.all([run(), run()]);
    expect(calls).toBe(1);
    expect(a.status).toBe('ok');
    expect(b.status).toBe('ok');
    await run();
    expect(calls).toBe(2);
  });
});
