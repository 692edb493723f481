/**
 * `npm run bench store-usage`: the store-usage report on generated stores of 100,000 and 1,000,000
 * valid paths (about 10 references each, 30% of them garbage), next to `nix-store --gc --print-dead` on
 * the same store in the same run. The stores are generated once into .cache/bench (the million-path one
 * takes about a minute and 5 GB; Nix needs about 9 minutes on it); BENCH_STORES=100k runs one. The report runs in a child process of its own so its peak memory is
 * the report's, not the benchmark's.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startRedis } from '../../src/dev/start-redis.js';
import { formatCount } from '../../src/present/format.js';
import { JOB_LOCK } from '../../src/queue/job-lock.js';
import { generateSyntheticStore, nixPrintDead } from '../setup/nix-store-fixture.js';
import type { BenchLine, BenchSuite } from './report.js';

const execFileAsync = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');
/** The stores measured, each generated once into .cache/bench and reused (BENCH_STORES=100k picks one). */
const STORES = [
  { label: '100k', paths: 100_000, reportGoalMs: 1000, rssGoalMb: 300 },
  { label: '1m', paths: 1_000_000, reportGoalMs: 3000, rssGoalMb: 1000 },
].filter((s) => !process.env.BENCH_STORES || process.env.BENCH_STORES.split(',').includes(s.label));
const RUNS = 3;

interface ChildReport {
  /** Milliseconds of each full report (job run), in order. */
  runs: number[];
  /** CPU milliseconds (user + system) of each run: what the report costs when other work shares the cores. */
  cpu: number[];
  /** Peak resident set size of the child, in bytes. */
  maxRssBytes: number;
  paths: number;
  references: number;
  garbagePaths: number;
  /** Longest the event loop was held up while the reports ran, in ms (BullMQ renews job locks from a timer). */
  maxEventLoopBlockMs: number;
}

async function runReportInChild(stateDir: string, storeDir: string, redisUrl: string, deadFile: string, confDir: string): Promise<ChildReport> {
  const built = path.join(REPO, 'dist/jobs/store-usage.js');
  const useDist = fs.existsSync(built);
  const base = useDist ? path.join(REPO, 'dist') : REPO;
  const ext = useDist ? '.js' : '.ts';
  // The child runs the job RUNS times (with a real Redis for the history), records its peak RSS,
  // then writes the dead paths for the comparison with Nix.
  const script = `
import fs from 'node:fs';
const [base, ext, stateDir, storeDir, redisUrl, deadFile, runs] = JSON.parse(process.argv[1]);
const job = await import(base + '/jobs/store-usage' + ext);
const { analyzeStore } = await import(base + '/jobs/store-usage/analyze-store' + ext);
const { createRedis } = await import(base + '/src/queue/redis' + ext);
const redis = createRedis({ redisUrl });
const ctx = { host: 'bench', settings: { nixStateDir: stateDir, nixStoreDir: storeDir }, redis, prefix: '{bench}', progress: async () => {} };
const { monitorEventLoopDelay } = await import('node:perf_hooks');
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const times = [];
const cpu = [];
let result;
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  result = await job.run({ top: 10 }, ctx);
  times.push(performance.now() - started);
  const used = process.cpuUsage(cpuStarted);
  cpu.push((used.user + used.system) / 1000);
}
delay.disable();
const maxEventLoopBlockMs = delay.max / 1e6;
const maxRssBytes = process.resourceUsage().maxRSS * 1024;
const analysis = await analyzeStore({ stateDir, storeDir, includeDeadPaths: true, procDir: null });
fs.writeFileSync(deadFile, analysis.deadPaths.join('\\n'));
await redis.quit();
console.log(JSON.stringify({ runs: times, cpu, maxRssBytes, maxEventLoopBlockMs, paths: result.paths, references: result.references, garbagePaths: result.garbage.paths }));
`;
  const args = useDist ? ['--input-type=module', '-e', script] : ['--import', 'tsx', '--input-type=module', '-e', script];
  const { stdout } = await execFileAsync(process.execPath, [...args, JSON.stringify([base, ext, stateDir, storeDir, redisUrl, deadFile, RUNS])], {
    cwd: REPO,
    env: { ...process.env, NIX_CONF_DIR: confDir },
    maxBuffer: 1 << 26,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ChildReport;
}

async function runSuite(): Promise<BenchLine[]> {
  const lines: BenchLine[] = [];
  for (const wanted of STORES) lines.push(...(await measureStore(wanted)));
  return lines;
}

async function measureStore(wanted: (typeof STORES)[number]): Promise<BenchLine[]> {
  const storeDir = path.join(REPO, `.cache/bench/store-usage-${wanted.label}`);
  const generated = await generateSyntheticStore(storeDir, { paths: wanted.paths, referencesPerPath: 10, deadFraction: 0.3 });
  const { store } = generated;
  const redis = await startRedis();
  const deadFile = path.join(storeDir, 'report-dead.txt');
  let report: ChildReport;
  try {
    report = await runReportInChild(store.stateDir, store.storeDir, redis.url, deadFile, path.dirname(store.confFile));
  } finally {
    await redis.stop();
  }
  const nixStarted = performance.now();
  const nixDead = await nixPrintDead(store);
  const nixMs = performance.now() - nixStarted;
  const ourDead = (await fs.promises.readFile(deadFile, 'utf8')).split('\n').filter(Boolean).sort();

  const first = report.runs[0] ?? Number.NaN;
  const median = [...report.runs].sort((a, b) => a - b)[Math.floor(report.runs.length / 2)] ?? Number.NaN;
  const sameDead = ourDead.length === nixDead.length && ourDead.every((p, i) => p === nixDead[i]);
  const ratio = nixMs / first;
  const mb = report.maxRssBytes / 1e6;
  const shape = `${formatCount(report.paths)} paths, ${formatCount(report.references)} references, ${formatCount(report.garbagePaths)} dead`;
  return [
    {
      name: `store: ${shape}`,
      ours: generated.generatedSeconds > 0 ? `generated in ${generated.generatedSeconds.toFixed(1)} s` : `cached in ${path.relative(REPO, storeDir)}`,
    },
    {
      name: 'full store-usage report (first run, cold)',
      ours: `${(first / 1000).toFixed(2)} s, ${(report.cpu[0]! / 1000).toFixed(2)} s CPU (median of ${report.runs.length}: ${(median / 1000).toFixed(2)} s)`,
      goal: `< ${wanted.reportGoalMs / 1000} s`,
      met: first < wanted.reportGoalMs,
    },
    {
      name: 'report vs nix-store --gc --print-dead',
      ours: `${(first / 1000).toFixed(2)} s`,
      baseline: `${(nixMs / 1000).toFixed(1)} s`,
      ratio,
      goal: '>= 20x faster',
      met: ratio >= 20,
    },
    {
      name: 'same dead set as nix-store --gc --print-dead',
      ours: `${formatCount(ourDead.length)} paths, ${sameDead ? 'identical' : 'DIFFERENT'}`,
      baseline: `${formatCount(nixDead.length)} paths`,
      goal: 'identical',
      met: sameDead,
    },
    {
      name: 'longest event-loop block while the report runs (a worker renews its job lock from a timer)',
      ours: `${report.maxEventLoopBlockMs.toFixed(0)} ms`,
      goal: `< ${JOB_LOCK.lockDuration / 2 / 1000} s (half the job lock)`,
      met: report.maxEventLoopBlockMs < JOB_LOCK.lockDuration / 2,
    },
    {
      name: 'peak memory of the worker running the report (RSS)',
      ours: `${mb.toFixed(0)} MB`,
      goal: `< ${wanted.rssGoalMb} MB`,
      met: mb < wanted.rssGoalMb,
    },
  ];
}

export const suite: BenchSuite = { name: 'store-usage', run: runSuite };
