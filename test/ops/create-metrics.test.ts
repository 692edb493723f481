import { describe, expect, it } from 'vitest';
import { register as globalRegistry } from 'prom-client';
import { createMetrics } from '../../src/ops/create-metrics.js';
import { TransientJobError, PermanentJobError } from '../../src/errors.js';

describe('createMetrics', () => {
  it('reads queue depth, heartbeat ages and pending approvals from their sources at scrape time', async () => {
    let pending = 2;
    const metrics = createMetrics({
      processMetrics: false,
      sources: {
        queueDepths: async () => [
          { queue: 'control', state: 'waiting', count: 1 },
          { queue: 'host.ci-1', state: 'active', count: 4 },
        ],
        heartbeatAges: async () => [{ host: 'ci-1', ageSeconds: 2.5 }],
        pendingApprovals: async () => pending,
      },
    });
    let text = await metrics.registry.metrics();
    expect(text).toContain('runnerops_queue_depth{queue="control",state="waiting"} 1');
    expect(text).toContain('runnerops_queue_depth{queue="host.ci-1",state="active"} 4');
    expect(text).toContain('runnerops_heartbeat_age_seconds{host="ci-1"} 2.5');
    expect(text).toContain('runnerops_pending_approvals 2');
    pending = 0;
    text = await metrics.registry.metrics();
    expect(text).toContain('runnerops_pending_approvals 0');
  });

  it('drops rows a source no longer reports', async () => {
    let hosts = [
      { host: 'ci-1', ageSeconds: 1 },
      { host: 'ci-2', ageSeconds: 1 },
    ];
    const metrics = createMetrics({ processMetrics: false, sources: { heartbeatAges: async () => hosts } });
    expect(await metrics.registry.metrics()).toContain('host="ci-2"');
    hosts = [{ host: 'ci-1', ageSeconds: 1 }];
    expect(await metrics.registry.metrics()).not.toContain('host="ci-2"');
  });

  it('still answers a scrape when a source fails or hangs, counting the failure', async () => {
    const failures: string[] = [];
    const metrics = createMetrics({
      processMetrics: false,
      sourceTimeoutMs: 50,
      onSourceError: (source) => failures.push(source),
      sources: {
        queueDepths: async () => {
          throw new Error('redis down');
        },
        pendingApprovals: () => new Promise<number>(() => undefined),
        heartbeatAges: async () => [{ host: 'ci-1', ageSeconds: 3 }],
      },
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain('runnerops_heartbeat_age_seconds{host="ci-1"} 3');
    expect(text).not.toMatch(/^runnerops_queue_depth\{/m);
    expect(text).toMatch(/^runnerops_pending_approvals nan$/im);
    expect(text).toContain('runnerops_metrics_source_errors_total{source="queueDepths"} 1');
    expect(text).toContain('runnerops_metrics_source_errors_total{source="pendingApprovals"} 1');
    expect(failures.sort()).toEqual(['pendingApprovals', 'queueDepths']);
  });

  it('registers a gauge only for the sources given', async () => {
    const text = await createMetrics({ processMetrics: false }).registry.metrics();
    expect(text).not.toContain('runnerops_pending_approvals');
    expect(text).not.toContain('runnerops_queue_depth');
    expect(text).toContain('# TYPE runnerops_job_duration_seconds histogram');
    expect(text).toContain('# TYPE runnerops_api_errors_total counter');
  });

  it('records job duration and outcome by job kind', async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.observeJob('prune-docker', 'completed', 12);
    await metrics.measureJob('store-usage', async () => 'ok');
    await expect(
      metrics.measureJob('rotate-token', async () => {
        throw new TransientJobError('GitLab answered 503');
      }),
    ).rejects.toThrow('503');
    await expect(
      metrics.measureJob('rotate-token', async () => {
        throw new PermanentJobError('403');
      }),
    ).rejects.toThrow('403');
    const text = await metrics.registry.metrics();
    expect(text).toContain('runnerops_job_duration_seconds_bucket{le="30",job="prune-docker"} 1');
    expect(text).toContain('runnerops_job_duration_seconds_bucket{le="10",job="prune-docker"} 0');
    expect(text).toContain('runnerops_jobs_total{job="prune-docker",outcome="completed"} 1');
    expect(text).toContain('runnerops_jobs_total{job="store-usage",outcome="completed"} 1');
    expect(text).toContain('runnerops_jobs_total{job="rotate-token",outcome="retrying"} 1');
    expect(text).toContain('runnerops_jobs_total{job="rotate-token",outcome="failed"} 1');
  });

  it('counts security refusals by kind as they happen', async () => {
    const refusals = new Map<string, number>();
    const metrics = createMetrics({ processMetrics: false, sources: { refusals } });
    expect(await metrics.registry.metrics()).not.toContain('runnerops_refused_total{');
    refusals.set('unsigned', 2);
    refusals.set('replayed', 1);
    const text = await metrics.registry.metrics();
    expect(text).toContain('runnerops_refused_total{what="unsigned"} 2');
    expect(text).toContain('runnerops_refused_total{what="replayed"} 1');
  });

  it('counts API errors by API and kind', async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.countApiError('slack', 'ratelimited');
    metrics.countApiError('slack', 'ratelimited');
    metrics.countApiError('gitlab', 'http_502');
    const text = await metrics.registry.metrics();
    expect(text).toContain('runnerops_api_errors_total{api="slack",kind="ratelimited"} 2');
    expect(text).toContain('runnerops_api_errors_total{api="gitlab",kind="http_502"} 1');
  });

  it('keeps each registry apart and leaves the global default registry empty', async () => {
    const a = createMetrics({ defaultLabels: { process: 'bot' } });
    const b = createMetrics({ defaultLabels: { process: 'worker' } });
    a.countApiError('slack', 'ratelimited');
    expect(await a.registry.metrics()).toContain('runnerops_api_errors_total{api="slack",kind="ratelimited",process="bot"} 1');
    expect(await b.registry.metrics()).not.toContain('kind="ratelimited"');
    expect(await b.registry.metrics()).toContain('process_cpu_user_seconds_total{process="worker"}');
    expect(globalRegistry.getMetricsAsArray()).toHaveLength(0);
  });
});
