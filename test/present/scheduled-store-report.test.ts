import { describe, expect, it } from 'vitest';
import type { StoreUsageResult } from '../../src/present/store-report.js';
import { reportedHosts, storeSummary } from '../../src/present/scheduled-store-report.js';
import { decodeRgbPng } from '../../src/present/stack-png.js';
import type { CommandRow } from '../../src/queue/command-record.js';
import type { StoreHistoryEntry } from '../../src/reports/store-history.js';

const GiB = 1024 ** 3;
const DAY = 86400_000;

function result(host: string): StoreUsageResult {
  return {
    host,
    source: 'db',
    sourceDetail: '/nix/var/nix/db/db.sqlite',
    storeDir: '/nix/store',
    paths: 1000,
    narBytes: 20 * GiB,
    disk: { freeBytes: 50 * GiB, totalBytes: 100 * GiB },
    garbage: { paths: 10, narBytes: GiB, note: 'dead paths' },
    roots: { links: 1, paths: 1, byKind: {} },
    runtimeRoots: { note: 'none' },
    settings: { keepOutputs: false, keepDerivations: false },
    largestPaths: [],
    largestClosures: [],
    trend: null,
    warnings: [],
    durationMs: 5,
  };
}

const entry = (at: number, narGiB: number): StoreHistoryEntry => ({
  at,
  paths: 1000,
  narBytes: narGiB * GiB,
  garbagePaths: 10,
  garbageBytes: GiB,
  freeBytes: 50 * GiB,
  totalBytes: 100 * GiB,
});

const rows: CommandRow[] = [
  { host: 'ci-1', status: 'done', queuedAt: 0, result: result('ci-1') },
  { host: 'ci-2', status: 'silent', queuedAt: 0 },
  { host: 'ci-3', status: 'done', queuedAt: 0, summary: 'done', result: { other: true } },
];

describe('reportedHosts', () => {
  it('names the hosts that finished with a store report', () => {
    expect(reportedHosts(rows)).toEqual(['ci-1']);
  });
});

describe('storeSummary', () => {
  it('says so when there are no hosts', () => {
    expect(storeSummary([], 60_000, new Map())).toEqual({ text: 'no hosts to report on' });
  });

  it('shows the table, the trend since last week and one chart of the hosts that reported', () => {
    const now = Date.UTC(2026, 10, 27);
    const summary = storeSummary(rows, 60_000, new Map([['ci-1', [entry(now - 7 * DAY, 18), entry(now, 20)]]]));
    const lines = summary.text.split('\n');
    expect(lines).toContain('ci-2  no report: did not answer within 60.0 s');
    expect(lines).toContain('  ci-1: store +2.0 GiB, garbage 0 B, free 0 B since 7 days ago');
    expect(summary.attachment?.filename).toBe('store-usage.png');
    expect(decodeRgbPng(summary.attachment!.bytes).width).toBeGreaterThan(0);
  });

  it('says a host has no trend before its second report', () => {
    expect(storeSummary(rows.slice(0, 1), 60_000, new Map()).text).toContain('  ci-1: first report, no trend yet');
  });
});
