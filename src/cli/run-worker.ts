import { readWorkerSettings } from '../config.js';
import { createLogger } from '../logger.js';
import { checkRedis } from '../queue/check-redis.js';
import { createRedis } from '../queue/redis.js';
import { loadHostKeys } from '../secrets/host-keys.js';
import { startWorker, type RunningWorker } from '../worker/start-worker.js';

/** `runnerops worker`: read config, load the host key, start, stop gracefully on SIGTERM/SIGINT. */
export async function runWorker(env: Record<string, string | undefined>): Promise<RunningWorker> {
  const settings = readWorkerSettings(env);
  const log = createLogger({ name: 'runnerops-worker', level: settings.logLevel });
  const probe = createRedis(settings);
  await checkRedis(probe, settings.redisUrl).finally(() => probe.disconnect());
  const keys = await loadHostKeys(settings.stateDir);
  return startWorker({ settings, log, extraContext: { keys, publicKey: keys.publicKey } });
}
