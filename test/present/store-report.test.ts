import { describe, expect, it } from 'vitest';
import { GARBAGE_NOTE, type Result } from '../../jobs/store-usage.js';
import { formatStoreReport, formatStoreTable, sortByFreeSpace } from '../../src/present/store-report.js';

const GiB = 1024 ** 3;

function report(host: string, freeGiB: number, overrides: Partial<Result> = {}): Result {
  return {
    host,
    at: Date.UTC(2026, 10, 27),
    source: 'db',
    sourceDetail: '/nix/var/nix/db/db.sqlite',
    storeDir: '/nix/store',
    paths: 100_000,
    references: 1_000_000,
    narBytes: 180 * GiB,
    disk: { freeBytes: freeGiB * GiB, totalBytes: 250 * GiB },
    garbage: { paths: 29_957, narBytes: 80.1 * GiB, note: GARBAGE_NOTE },
    roots: { source: 'files', links: 12, paths: 9, byKind: { gcroot: 4, profile: 2, runtime: 0 }, staleIndirect: 1, unreadableCount: 0 },
    runtimeRoots: { visibility: 'all', processes: 97, unreadable: 0, container: false, note: 'read all 97 processes' },
    settings: { keepOutputs: false, keepDerivations: true },
    largestPaths: [
      { path: '/nix/store/aaaa-cuda-12.2', name: 'cuda-12.2', narBytes: 3.4 * GiB, live: false },
      { path: '/nix/store/bbbb-gcc-13.2.0', name: 'gcc-13.2.0', narBytes: 512 * 1024 ** 2, live: true },
    ],
    largestClosures: [
      {
        path: '/nix/store/cccc-nixos-system-ci-3',
        name: 'nixos-system-ci-3',
        closureBytes: 8.1 * GiB,
        closurePaths: 4120,
        links: ['/nix/var/nix/profiles/system-42-link'],
        linkCount: 3,
      },
    ],
    trend: null,
    warnings: [],
    durationMs: 412,
    ...overrides,
  };
}

describe('formatStoreReport', () => {
  it('says what is in the store, what garbage collection frees, and where the figures came from', () => {
    const lines = formatStoreReport(report('ci-3', 12.1));
    expect(lines[0]).toBe('ci-3: 100,000 paths, 180 GiB in /nix/store; disk 12 GiB free of 250 GiB (4.8% free)');
    expect(lines[1]).toBe(`garbage: 29,957 paths, 80 GiB (${GARBAGE_NOTE})`);
    expect(lines).toContain('trend: first report of this host');
    expect(lines).toContain('roots: 12 links to 9 paths (gcroot 4, profile 2); runtime roots: read all 97 processes');
    expect(lines).toContain('  3.4 GiB  cuda-12.2  (garbage)');
    expect(lines).toContain('  512 MiB  gcc-13.2.0');
    expect(lines).toContain('  8.1 GiB  nixos-system-ci-3  4,120 paths  <- /nix/var/nix/profiles/system-42-link (+2 more)');
    expect(lines.at(-1)).toBe('read from the database /nix/var/nix/db/db.sqlite in 0.4 s (keep-outputs false, keep-derivations true)');
  });

  it('gives the trend since the previous report, sparklines of earlier reports, the fallback and warnings', () => {
    const lines = formatStoreReport(
      report('ci-3', 12, {
        source: 'daemon',
        sourceDetail: 'unix:///nix/var/nix/daemon-socket/socket',
        fallbackReason: 'cannot read the Nix database: permission denied',
        trend: {
          previousAt: 0,
          sinceMs: 7 * 24 * 3600 * 1000,
          pathsChange: 1200,
          narBytesChange: 2.1 * GiB,
          garbagePathsChange: -5,
          garbageBytesChange: -1 * GiB,
          freeBytesChange: -3 * GiB,
        },
        warnings: ['3 potential GC root(s) could not be read'],
      }),
      {
        history: [1, 2, 3].map((n) => ({ at: n, paths: 1, narBytes: n, garbagePaths: 0, garbageBytes: 0, freeBytes: 10 - n, totalBytes: 10 })),
      },
    );
    expect(lines).toContain('since the report 7 days ago: store +2.1 GiB (+1,200 paths), garbage -1.0 GiB, free -3.0 GiB');
    expect(lines).toContain('last 3 reports: store ▁▅█  free █▅▁');
    expect(lines).toContain(
      'read through the nix daemon unix:///nix/var/nix/daemon-socket/socket in 0.4 s (keep-outputs false, keep-derivations true), because cannot read the Nix database: permission denied',
    );
    expect(lines.at(-1)).toBe('warning: 3 potential GC root(s) could not be read');
  });
});

describe('formatStoreTable', () => {
  it('lists hosts by free space, least first, with hosts that gave no report last', () => {
    const lines = formatStoreTable([
      { host: 'ci-1', result: report('ci-1', 90) },
      { host: 'ci-9', error: 'Nix database /nix/var/nix/db/db.sqlite does not exist' },
      {
        host: 'ci-2',
        result: report('ci-2', 1.2, {
          trend: { previousAt: 0, sinceMs: 1, pathsChange: 1, narBytesChange: GiB, garbagePathsChange: 0, garbageBytesChange: 0, freeBytesChange: 0 },
        }),
      },
      { host: 'ci-3', result: report('ci-3', 30) },
    ]);
    expect(lines).toEqual([
      'host     free  free %    store    paths  garbage  store change',
      'ci-2  1.2 GiB    0.5%  180 GiB  100,000   80 GiB      +1.0 GiB',
      'ci-3   30 GiB     12%  180 GiB  100,000   80 GiB  first report',
      'ci-1   90 GiB     36%  180 GiB  100,000   80 GiB  first report',
      'ci-9  no report: Nix database /nix/var/nix/db/db.sqlite does not exist',
    ]);
  });
});

describe('sortByFreeSpace', () => {
  it('breaks ties by host name', () => {
    const rows = sortByFreeSpace([{ host: 'b', result: report('b', 5) }, { host: 'a', result: report('a', 5) }, { host: 'z' }, { host: 'c' }]);
    expect(rows.map((r) => r.host)).toEqual(['a', 'b', 'c', 'z']);
  });
});
