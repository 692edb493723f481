/**
 * Many simulated hosts in one process: each is a full `startWorker()` (its own queue, heartbeat,
 * registry entry and keys), as a fleet's workers would be on their own machines. Started by the
 * benchmarks as `node --import tsx test/bench/worker-pool.ts <json>`; prints one JSON line once every
 * worker runs, then stops them on SIGTERM. It also runs from a reference checkout (`reference-checkout.ts`)
 * of a version from before host keys: then its workers start without keys.
 */
import path from 'node:path';
import { readWorkerSettings } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startWorker, type RunningWorker } from '../../src/worker/start-worker.js';

interface PoolOptions {
  hosts: string[];
  stateRoot: string;
  env: Record<string, string>;
}

const options = JSON.parse(process.argv[2] ?? '{}') as PoolOptions;
const log = createLogger({ name: 'worker-pool', level: 'silent' });
const hostKeys = await import('../../src/secrets/host-keys.js').catch(() => undefined);
const workers: RunningWorker[] = [];
const started = performance.now();
for (let i = 0; i < options.hosts.length; i += 25) {
  const batch = options.hosts.slice(i, i + 25).map(async (host) => {
    const settings = readWorkerSettings({
      ...options.env,
      RUNNEROPS_HOST: host,
      RUNNEROPS_STATE_DIR: path.join(options.stateRoot, host),
      GITLAB_RUNNER_CONFIG: path.join(options.stateRoot, host, 'config.toml'),
    });
    const keys = hostKeys ? await hostKeys.loadHostKeys(settings.stateDir) : (undefined as never);
    return startWorker({ settings, log, keys, concurrency: 1 });
  });
  workers.push(...(await Promise.all(batch)));
}
console.log(JSON.stringify({ workers: workers.length, startMs: performance.now() - started, rssBytes: process.memoryUsage().rss }));
process.once('SIGTERM', () => {
  void (async () => {
    for (let i = 0; i < workers.length; i += 100) await Promise.all(workers.slice(i, i + 100).map((w) => w.stop(1000)));
    process.exit(0);
  })();
});
