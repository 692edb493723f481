import { readWorkerSettings } from '../config.js';
import { createLogger } from '../logger.js';
import { checkRedis } from '../queue/check-redis.js';
import { createRedis } from '../queue/redis.js';
import { loadHostKeys } from '../secrets/host-keys.js';
import { dockerFromSettings, startWorker, type RunningWorker } from '../worker/start-worker.js';
import { startWorkerOps } from '../ops/start-process-ops.js';
import type { ErrorSink } from './install-error-sink.js';

/** `runnerops worker`: read config, load the host key, start, stop gracefully on SIGTERM/SIGINT. */
export async function runWorker(env: Record<string, string | undefined>, options: { errorSink?: ErrorSink } = {}): Promise<RunningWorker> {
  const settings = readWorkerSettings(env);
  const log = createLogger({ name: 'runnerops-worker', level: settings.logLevel });
  options.errorSink?.attach(log);
  const probe = createRedis(settings);
  await checkRedis(probe, settings.redisUrl).finally(() => probe.disconnect());
  const keys = await loadHostKeys(settings.stateDir);
  const docker = dockerFromSettings(settings);
  const running = await startWorker({ settings, log, docker, keys });
  log.info({ fingerprint: keys.hostFingerprint }, 'host key fingerprint (the bot enrols this host by it)');
  const ops = await startWorkerOps({ settings, docker, worker: running.worker, refusals: running.refusals, log });
  options.errorSink?.attach(log, (kind) => ops.metrics.countProcessError(kind));
  return {
    ...running,
    stop: async (graceMs) => {
      await running.stop(graceMs);
      await ops.stop();
    },
  };
}
