import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startRedis } from '../../src/dev/start-redis.js';
import { formatFigures, type Figure } from './support/figure-format.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * One redis-server for the scenarios that share it (each with its own prefix), and a run directory
 * where every scenario leaves its logs, Redis dumps, Slack messages, issued secrets and figures for
 * the final secret search and the summary printed at the end. RELIABILITY_KEEP=1 keeps the directory.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const cli = path.join(ROOT, 'dist/src/cli.js');
  if (!existsSync(cli)) throw new Error('dist/src/cli.js is missing: run "npm run build" first (npm run test:reliability does)');
  const built = (await stat(cli)).mtimeMs;
  const source = (await stat(path.join(ROOT, 'src/cli.ts'))).mtimeMs;
  if (source > built) console.warn('reliability: dist/ is older than src/cli.ts; run "npm run build" for honest process figures');
  const runDir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-reliability-'));
  await mkdir(path.join(runDir, 'logs'));
  await mkdir(path.join(runDir, 'artifacts'));
  const redis = await startRedis();
  project.provide('redisUrl', redis.url);
  project.provide('reliabilityRunDir', runDir);
  return async () => {
    const lines = (await readFile(path.join(runDir, 'figures.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Figure);
    if (lines.length > 0) console.log(`\nreliability figures (${os.cpus().length} cores)\n${formatFigures(lines)}\n`);
    await redis.stop();
    if (process.env.RELIABILITY_KEEP === '1') console.log(`reliability run directory kept: ${runDir}`);
    else await rm(runDir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    reliabilityRunDir: string;
  }
}
