import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { readWorkerSettings, type WorkerSettings } from '../../src/config.js';
import { TEST_BOT_KEYS } from '../helpers/test-trust.js';
import { createLogger } from '../../src/logger.js';
import { formatMs } from '../../src/present/format.js';
import * as pruneDocker from '../../jobs/prune-docker.js';
import { startPrivateDockerd } from '../setup/docker-engine.js';
import { ensureBusyboxImage } from '../setup/docker-images.js';
import { createPruneFixture, listEngine } from '../clients/docker/prune-fixture.js';
import type { BenchLine, BenchSuite } from './report.js';

const run = promisify(execFile);

/** The fixture: 200 exited containers (50 of them with an anonymous volume) and 50 dangling images. */
const FIXTURE = { exitedContainers: 200, anonymousVolumes: 50, danglingImages: 50 };
const ROUNDS = Number(process.env.BENCH_PRUNE_ROUNDS ?? 2);

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** A worker's settings as readWorkerSettings gives them, for this engine and daemon container. */
export function benchSettings(nixDaemonContainer: string, dockerHost: string): WorkerSettings {
  return readWorkerSettings({ NIX_DAEMON_CONTAINER: nixDaemonContainer, DOCKER_HOST: dockerHost, RUNNEROPS_HOST: 'bench', RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS });
}

async function assertClean(docker: Docker, fixture: { containers: string[]; images: string[]; volumes: string[] }, who: string): Promise<void> {
  const left = await listEngine(docker);
  const remaining =
    fixture.containers.filter((id) => left.containers.has(id)).length +
    fixture.images.filter((id) => left.images.has(id)).length +
    fixture.volumes.filter((name) => left.volumes.has(name)).length;
  if (remaining > 0) throw new Error(`${who} left ${remaining} fixture objects behind`);
}

async function timePrunes(): Promise<{ ours: number[]; baseline: number[] }> {
  const engine = await startPrivateDockerd();
  try {
    const image = await ensureBusyboxImage(engine.host);
    const ctx = {
      host: 'bench',
      docker: engine.docker,
      settings: benchSettings('gitlabnix', engine.host),
      progress: async () => undefined,
      log: createLogger({ name: 'bench', level: 'silent' }),
    };
    const payload = pruneDocker.payloadSchema.parse({ untilSeconds: 0, volumes: true, images: 'dangling', buildCache: true });
    const ours: number[] = [];
    const baseline: number[] = [];
    const timeOurs = async (): Promise<void> => {
      const fixture = await createPruneFixture(engine.docker, { image, ...FIXTURE });
      const started = performance.now();
      await pruneDocker.run(payload, ctx);
      ours.push(performance.now() - started);
      await assertClean(engine.docker, fixture, 'prune-docker');
    };
    const timeBaseline = async (): Promise<void> => {
      const fixture = await createPruneFixture(engine.docker, { image, ...FIXTURE });
      const started = performance.now();
      await run('docker', ['-H', engine.host, 'system', 'prune', '-f', '--volumes'], { timeout: 600_000 });
      baseline.push(performance.now() - started);
      await assertClean(engine.docker, fixture, 'docker system prune');
    };
    // Alternate who goes first so neither always meets a warmer engine.
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        await timeOurs();
        await timeBaseline();
      } else {
        await timeBaseline();
        await timeOurs();
      }
    }
    return { ours, baseline };
  } finally {
    await engine.stop();
  }
}

export const suite: BenchSuite = {
  name: 'prune-docker',
  run: async (): Promise<BenchLine[]> => {
    const prunes = await timePrunes();
    const ours = median(prunes.ours);
    const baseline = median(prunes.baseline);
    const ratio = ours / baseline;
    return [
      {
        name: `prune-docker vs docker system prune -f --volumes (${FIXTURE.exitedContainers} exited containers, ${FIXTURE.danglingImages} dangling images, ${FIXTURE.anonymousVolumes} anonymous volumes; median of ${prunes.ours.length})`,
        ours: `${formatMs(ours)} (runs: ${prunes.ours.map((ms) => formatMs(ms)).join(', ')})`,
        baseline: `${formatMs(baseline)} (runs: ${prunes.baseline.map((ms) => formatMs(ms)).join(', ')})`,
        ratio,
        goal: '<= 1.1x',
        met: ratio <= 1.1,
      },
    ];
  },
};
