import type { BenchSuite } from './report.js';

/** Every benchmark `npm run bench` runs, in order. Add one line per suite. */
export const SUITES: Array<() => Promise<BenchSuite>> = [
  () => import('./slash-ack.js').then((m) => m.suite),
  () => import('./job-signing.js').then((m) => m.suite),
  () => import('./prune-docker.js').then((m) => m.suite),
  () => import('./image-lru.js').then((m) => m.suite),
  () => import('./restart-nix-daemon.js').then((m) => m.suite),
  () => import('./store-usage.js').then((m) => m.suite),
  () => import('./worker-recovery.js').then((m) => m.suite),
  () => import('./fleet.js').then((m) => m.suite),
];
