import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import * as pruneDocker from '../../jobs/prune-docker.js';
import { formatMs } from '../../src/present/format.js';
import { startImageUseLog } from '../../src/clients/docker/image-use-log.js';
import { importFilesImage } from '../setup/docker-images.js';
import { startTinyDockerd, type TinyDockerd } from '../setup/tiny-dockerd.js';
import { benchSettings } from './prune-docker.js';
import type { BenchLine, BenchSuite } from './report.js';
import { ms } from './stats.js';
import { defined } from '../helpers/defined.js';

/** Images staged with known uses, how many of them must go, and the size of each (incompressible). */
const IMAGES = Number(process.env.BENCH_LRU_IMAGES ?? 40);
const EVICT = Number(process.env.BENCH_LRU_EVICT ?? 20);
const MB = 1 << 20;
const IMAGE_BYTES = 2 * MB;
const ROUNDS = Number(process.env.BENCH_LRU_ROUNDS ?? 3);
const log = pino({ level: 'silent' });

const stage = (engine: TinyDockerd, tag: string, changes: string[] = []): Promise<string> =>
  importFilesImage(engine.docker, { blob: randomBytes(IMAGE_BYTES) }, { tag, changes: ['CMD ["/blob"]', ...changes] });

async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

interface Run {
  expected: string[];
  dry: string[];
  real: string[];
  left: number;
  oursMs: number;
  baselineMs: number;
}

/**
 * Stages IMAGES images and uses each through real containers in a shuffled order, recorded by the
 * worker's image-use log from Docker's events; the three used first are in use, protected or the
 * nix-daemon's. A prune to a free-space target that needs EVICT images must evict exactly the EVICT
 * least recently used of the others, in the dry run and the real run. Then the same number of equal
 * images are removed one by one with dockerode's image.remove (`docker image rm`) in the same engine.
 */
async function measure(): Promise<Run> {
  const engine = await startTinyDockerd(Math.ceil(((IMAGES + EVICT) * IMAGE_BYTES * 1.5) / MB) + 64);
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-bench-lru-'));
  try {
    const ids: string[] = [];
    for (let n = 0; n < IMAGES; n++) ids.push(await stage(engine, `bench/lru-${n}:v1`, n === 1 ? ['LABEL runnerops.keep=true'] : []));
    const idOf = (n: number): string => defined(ids[n], `image ${n}`);
    const useOrder = [
      0,
      1,
      2,
      ...ids
        .slice(3)
        .map((_, i) => i + 3)
        .sort(() => Math.random() - 0.5),
    ];
    const recorded = new Map<string, () => void>();
    const useLog = await startImageUseLog({
      docker: engine.docker,
      file: path.join(stateDir, 'image-last-use.json'),
      log,
      onRecorded: (id) => recorded.get(id)?.(),
    });
    try {
      for (const [rank, n] of useOrder.entries()) {
        const seen = new Promise<void>((resolve) => recorded.set(idOf(n), resolve));
        const name = rank === 0 ? 'lru-user' : rank === 2 ? 'gitlabnix' : `lru-use-${n}`;
        const container = await engine.docker.createContainer({ Image: idOf(n), name, HostConfig: { NetworkMode: 'none' } });
        await seen;
        recorded.delete(idOf(n));
        // The in-use and nix-daemon images keep their containers; the others are used and left unused.
        if (rank !== 0 && rank !== 2) await container.remove();
      }
      const times = useOrder.map((n) => useLog.lastUsed().get(idOf(n))!);
      if (times.some((t, i) => i > 0 && t <= times[i - 1]!)) throw new Error('the recorded uses are not in the order the containers were created');
      const expected = useOrder.slice(3, 3 + EVICT).map((n) => idOf(n));

      const ctx = {
        host: 'bench',
        docker: engine.docker,
        settings: benchSettings('gitlabnix', engine.host),
        progress: async () => undefined,
        log,
        imageUse: useLog,
      };
      const targetFreeBytes = (await freeBytes(engine.dataRoot)) + Math.round((EVICT - 0.5) * IMAGE_BYTES);
      const payload = (dryRun: boolean) => pruneDocker.payloadSchema.parse({ dryRun, images: 'lru', targetFreeBytes, untilSeconds: 0, networks: false });
      const dry = await pruneDocker.run(payload(true), ctx);
      const started = performance.now();
      const real = await pruneDocker.run(payload(false), ctx);
      const oursMs = performance.now() - started;
      const left = (await engine.docker.listImages()).length;

      // Baseline: as many images of the same size, removed one at a time with `docker image rm`.
      const plain: string[] = [];
      for (let n = 0; n < EVICT; n++) plain.push(await stage(engine, `bench/plain-${n}:v1`));
      const baselineStarted = performance.now();
      for (const id of plain) await engine.docker.getImage(id).remove();
      const baselineMs = performance.now() - baselineStarted;
      return { expected, dry: dry.lru!.evicted.map((e) => e.id), real: real.lru!.evicted.map((e) => e.id), left, oursMs, baselineMs };
    } finally {
      await useLog.stop();
    }
  } finally {
    await engine.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

const same = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

export const suite: BenchSuite = {
  name: 'image-lru',
  run: async (): Promise<BenchLine[]> => {
    const runs: Run[] = [];
    for (let round = 0; round < ROUNDS; round++) runs.push(await measure());
    const exact = runs.every((r) => same(r.dry, r.expected) && same(r.real, r.expected) && r.left === IMAGES - EVICT);
    const ours = median(runs.map((r) => r.oursMs / EVICT));
    const baseline = median(runs.map((r) => r.baselineMs / EVICT));
    return [
      {
        name: `LRU eviction: evicted set == the ${EVICT} least recently used of ${IMAGES} staged images (3 in use / protected / nix-daemon's used first), ${ROUNDS} rounds, each in a fresh shuffled use order`,
        ours: runs
          .map(
            (r) => `dry run ${same(r.dry, r.expected) ? 'equal' : 'DIFFERENT'}, real run ${same(r.real, r.expected) ? 'equal' : 'DIFFERENT'}, ${r.left} left`,
          )
          .join('; '),
        goal: 'exactly the LRU set',
        met: exact,
      },
      {
        name: `time per evicted image (prune --images lru, whole job / ${EVICT}) vs docker image rm one by one (dockerode image.remove), ${IMAGE_BYTES / MB} MiB images, median of ${ROUNDS}`,
        ours: `${ms(ours)} (jobs: ${runs.map((r) => formatMs(r.oursMs)).join(', ')})`,
        baseline: `${ms(baseline)} (all: ${runs.map((r) => formatMs(r.baselineMs)).join(', ')})`,
        ratio: ours / baseline,
      },
    ];
  },
};
