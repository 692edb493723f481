import { describe, expect, it } from 'vitest';
import type { Result } from '../../jobs/prune-docker.js';
import type { CommandRow } from '../../src/queue/command-record.js';
import { pruneReportText } from '../../src/present/prune-report.js';

const MiB = 1 << 20;
const kind = (count: number, bytes: number) => ({ count, bytes, items: [] });

function result(host: string, fields: Partial<Result>): Result {
  return {
    host,
    dryRun: false,
    apiVersion: '1.41',
    containers: kind(0, 0),
    images: kind(0, 0),
    volumes: { ...kind(0, 0), unmeasured: 0 },
    networks: kind(0, 0),
    totalBytes: 0,
    skipped: { inUse: 0, gone: 0 },
    kept: { 'nix-daemon': 0, 'protect-label': 0, young: 0, 'in-use': 0, 'young-cache-volume': 0 },
    durationMs: 10,
    ...fields,
  };
}

const row = (host: string, fields: Partial<CommandRow>): CommandRow => ({ host, status: 'done', queuedAt: 0, ...fields });

describe('pruneReportText', () => {
  it('labels a dry run as what would be freed, with the free disk now', () => {
    const rows = [
      row('ci-1', {
        result: result('ci-1', {
          dryRun: true,
          images: kind(2, 300 * MiB),
          buildCache: kind(5, 100 * MiB),
          totalBytes: 400 * MiB,
          disk: { dataRoot: '/var/lib/docker', freeBefore: 2048 * MiB, freeAfter: 2048 * MiB },
        }),
      }),
    ];
    expect(pruneReportText(rows, 600_000)).toBe(
      [
        'HOST  CONTAINERS  IMAGES       VOLUMES  BUILD CACHE  WOULD FREE  DISK FREE',
        'ci-1  -           300 MiB (2)  -        100 MiB (5)  400 MiB     2.0 GiB now',
        'would free 400 MiB on 1 host',
      ].join('\n'),
    );
  });

  it('names failed and silent hosts even when no host finished', () => {
    const rows = [row('ci-1', { status: 'failed', summary: 'Docker Engine answered 500 while pruning: boom' }), row('ci-2', { status: 'silent' })];
    expect(pruneReportText(rows, 600_000)).toBe('failed on 1:\n  ci-1: Docker Engine answered 500 while pruning: boom\ndid not answer within 10 min: ci-2');
  });
});
