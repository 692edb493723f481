import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { TransientJobError } from '../errors.js';

/** Jobs of one queue in one state, as read at scrape time. */
export interface QueueDepth {
  queue: string;
  /** BullMQ state: waiting, active, delayed, prioritized, failed... */
  state: string;
  count: number;
}

/** Seconds since a host's last heartbeat. */
export interface HeartbeatAge {
  host: string;
  ageSeconds: number;
}

/** Values read only when Prometheus scrapes; a gauge is registered only when its source is given. */
export interface MetricSources {
  /** Job counts per queue and state. @defaultValue none: no `runnerops_queue_depth` */
  queueDepths?: () => Promise<QueueDepth[]>;
  /** Heartbeat age of every registered host. @defaultValue none: no `runnerops_heartbeat_age_seconds` */
  heartbeatAges?: () => Promise<HeartbeatAge[]>;
  /** Approval requests waiting for a decision. @defaultValue none: no `runnerops_pending_approvals` */
  pendingApprovals?: () => Promise<number>;
  /** Security refusals so far by kind (jobs, events, notices, approvals that did not verify). @defaultValue none: no `runnerops_refused_total` */
  refusals?: ReadonlyMap<string, number>;
  /** What each stream consumer saw go wrong so far (consumeGroup's counts). @defaultValue none: no `runnerops_stream_failures_total` */
  streamFailures?: () => Array<{ stream: string; counts: Readonly<Record<string, number>> }>;
}

export interface MetricsOptions {
  /** Scrape-time readers for gauges. @defaultValue none */
  sources?: MetricSources;
  /** Labels added to every sample, e.g. `{ process: 'worker', host: 'ci-3' }`. @defaultValue none */
  defaultLabels?: Record<string, string>;
  /** Node.js process metrics (CPU, memory, event-loop lag, GC). @defaultValue true */
  processMetrics?: boolean;
  /** How long one scrape waits for each source before leaving its gauge empty. @defaultValue 2000 */
  sourceTimeoutMs?: number;
  /** Told when a source fails or times out; the scrape still answers without that gauge. @defaultValue ignore */
  onSourceError?: (source: keyof MetricSources, err: unknown) => void;
}

/** How a job attempt ended, with the same words as the job events. */
export type JobOutcome = 'completed' | 'failed' | 'retrying';

/** Which remote API an error came from. */
export type ApiName = 'slack' | 'gitlab';

export interface Metrics {
  /** This process's own registry (never prom-client's global one): serve it on /metrics. */
  registry: Registry;
  /** Records one finished job attempt. */
  observeJob: (job: string, outcome: JobOutcome, seconds: number) => void;
  /** Runs `work`, recording its duration and outcome (a TransientJobError counts as `retrying`). */
  measureJob: <T>(job: string, work: () => Promise<T>) => Promise<T>;
  /** Counts one failed call to Slack's or GitLab's API; `kind` is short and bounded (see classifyApiError). */
  countApiError: (api: ApiName, kind: string) => void;
  /** Counts one error that reached the process's error sink (src/cli/install-error-sink.ts). */
  countProcessError: (kind: ProcessErrorKind) => void;
}

/** What reached a process's error sink: a promise nobody awaited, or an exception nobody caught. */
export type ProcessErrorKind = 'unhandledRejection' | 'uncaughtException';

/** Buckets from a quick ping to a drained nix-daemon restart or a long prune. */
const JOB_DURATION_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Builds the metrics of one process on a fresh registry, so two processes (or two tests) in one
 * Node.js runtime never collide and prom-client's global default registry stays empty.
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const sources = options.sources ?? {};
  const timeoutMs = options.sourceTimeoutMs ?? 2000;

  /** Source reads of the scrape in progress; the error counter waits for them so it shows this scrape's failures. */
  const inFlight = new Set<Promise<unknown>>();
  const sourceErrors = new Counter({
    name: 'runnerops_metrics_source_errors_total',
    help: 'Scrape-time sources that failed or timed out, by source',
    labelNames: ['source'] as const,
    // Registered after the gauges below, whose collect() starts the reads this one waits for.
    registers: [],
    async collect() {
      await Promise.allSettled([...inFlight]);
    },
  });
  /** Reads one source within the timeout; on failure counts it and returns undefined. */
  const read = <T>(name: keyof MetricSources, source: () => Promise<T>): Promise<T | undefined> => {
    const reading = (async () => {
      try {
        return await withTimeout(source(), timeoutMs, `metrics source ${name}`);
      } catch (err) {
        sourceErrors.inc({ source: name });
        options.onSourceError?.(name, err);
        return undefined;
      }
    })();
    inFlight.add(reading);
    void reading.finally(() => inFlight.delete(reading));
    return reading;
  };

  const { queueDepths, heartbeatAges, pendingApprovals } = sources;
  if (queueDepths) {
    new Gauge({
      name: 'runnerops_queue_depth',
      help: 'Jobs in each queue by BullMQ state, read at scrape time',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
      async collect() {
        const rows = await read('queueDepths', queueDepths);
        this.reset();
        for (const row of rows ?? []) this.set({ queue: row.queue, state: row.state }, row.count);
      },
    });
  }
  if (heartbeatAges) {
    new Gauge({
      name: 'runnerops_heartbeat_age_seconds',
      help: 'Seconds since each host last refreshed its registry entry, read at scrape time',
      labelNames: ['host'] as const,
      registers: [registry],
      async collect() {
        const rows = await read('heartbeatAges', heartbeatAges);
        this.reset();
        for (const row of rows ?? []) this.set({ host: row.host }, row.ageSeconds);
      },
    });
  }
  if (pendingApprovals) {
    new Gauge({
      name: 'runnerops_pending_approvals',
      help: 'Approval requests waiting for a decision, read at scrape time',
      registers: [registry],
      async collect() {
        // An unlabelled gauge always has a sample: NaN (not a stale or made-up 0) when the source failed.
        this.set((await read('pendingApprovals', pendingApprovals)) ?? Number.NaN);
      },
    });
  }

  const jobDuration = new Histogram({
    name: 'runnerops_job_duration_seconds',
    help: 'Wall time of job attempts by job kind',
    labelNames: ['job'] as const,
    buckets: JOB_DURATION_BUCKETS,
    registers: [registry],
  });
  const jobOutcomes = new Counter({
    name: 'runnerops_jobs_total',
    help: 'Finished job attempts by job kind and outcome (completed, failed, retrying)',
    labelNames: ['job', 'outcome'] as const,
    registers: [registry],
  });
  const apiErrors = new Counter({
    name: 'runnerops_api_errors_total',
    help: 'Failed Slack and GitLab API calls by API and kind of error',
    labelNames: ['api', 'kind'] as const,
    registers: [registry],
  });

  const streamFailures = sources.streamFailures;
  if (streamFailures) {
    new Counter({
      name: 'runnerops_stream_failures_total',
      help: 'Stream entries of job events and notices that were malformed, failed to be handled or were dropped, and failed reads, by stream and kind',
      labelNames: ['stream', 'kind'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const { stream, counts } of streamFailures()) for (const [kind, count] of Object.entries(counts)) this.inc({ stream, kind }, count);
      },
    });
  }

  const processErrors = new Counter({
    name: 'runnerops_process_errors_total',
    help: 'Unhandled promise rejections and uncaught exceptions that reached the process error sink',
    labelNames: ['kind'] as const,
    registers: [registry],
  });

  registry.registerMetric(sourceErrors);
  const refusals = sources.refusals;
  if (refusals) {
    new Counter({
      name: 'runnerops_refused_total',
      help: 'Jobs, events, notices and approval records refused because their signature or binding did not hold, by kind',
      labelNames: ['what'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [what, count] of refusals) this.inc({ what }, count);
      },
    });
  }

  const observeJob = (job: string, outcome: JobOutcome, seconds: number): void => {
    jobDuration.observe({ job }, Math.max(0, seconds));
    jobOutcomes.inc({ job, outcome });
  };

  return {
    registry,
    observeJob,
    async measureJob(job, work) {
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const result = await work();
        observeJob(job, 'completed', seconds());
        return result;
      } catch (err) {
        observeJob(job, err instanceof TransientJobError ? 'retrying' : 'failed', seconds());
        throw err;
      }
    },
    countApiError(api, kind) {
      apiErrors.inc({ api, kind });
    },
    countProcessError(kind) {
      processErrors.inc({ kind });
    },
  };
}
