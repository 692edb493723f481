/**
 * `npm run bench restart-nix-daemon`: the restart-nix-daemon job on a nix-daemon container of a private
 * Docker Engine, restart request to a daemon that answers, next to the engine's restart alone (the
 * `restartMs` the job measures around `POST /containers/{id}/restart`) in the same runs.
 */
import { createLogger } from '../../src/logger.js';
import { formatMs } from '../../src/present/format.js';
import * as restartNixDaemon from '../../jobs/restart-nix-daemon.js';
import { startPrivateDockerd } from '../setup/docker-engine.js';
import { ensureNixDaemonImage } from '../setup/docker-images.js';
import { benchSettings } from './prune-docker.js';
import type { BenchLine, BenchSuite } from './report.js';

const RESTARTS = Number(process.env.BENCH_RESTARTS ?? 7);

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

async function runSuite(): Promise<BenchLine[]> {
  const engine = await startPrivateDockerd();
  try {
    const image = await ensureNixDaemonImage(engine.host);
    const name = 'gitlabnix-bench';
    const container = await engine.docker.createContainer({ name, Image: image, HostConfig: { NetworkMode: 'none' } });
    await container.start();
    const ctx = {
      host: 'bench',
      docker: engine.docker,
      settings: benchSettings(name, engine.host),
      progress: async () => undefined,
      log: createLogger({ name: 'bench', level: 'silent' }),
    };
    const healthy: number[] = [];
    const restart: number[] = [];
    const checks: number[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      const result = await restartNixDaemon.run(restartNixDaemon.payloadSchema.parse({ timeoutSeconds: 120 }), ctx);
      healthy.push(result.healthyMs);
      restart.push(result.restartMs);
      checks.push(result.checks);
    }
    const ours = median(healthy);
    const baseline = median(restart);
    return [
      {
        name: `restart-nix-daemon: restart to healthy (median of ${RESTARTS}; health checks per restart: ${checks.join(', ')})`,
        ours: `${formatMs(ours)} (runs: ${healthy.map((ms) => formatMs(ms)).join(', ')})`,
        baseline: `${formatMs(baseline)} for the engine's restart alone (runs: ${restart.map((ms) => formatMs(ms)).join(', ')})`,
        ratio: ours / baseline,
        goal: '<= 1.5x',
        met: ours / baseline <= 1.5,
      },
    ];
  } finally {
    await engine.stop();
  }
}

export const suite: BenchSuite = { name: 'restart-nix-daemon', run: runSuite };
