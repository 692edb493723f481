import { formatBytes, formatMs, table } from './format.js';
import type { CommandRow } from '../queue/command-record.js';

/** What one kind of a prune result shows: how many objects and their bytes. */
interface KindReport {
  count: number;
  bytes: number;
}

/**
 * The figures of one host's prune that the report shows: part of what the prune job's result
 * (jobs/prune-docker.ts) carries, written out here so rendering does not import the host side.
 */
export interface PruneResult {
  host: string;
  dryRun: boolean;
  containers: KindReport;
  images: KindReport;
  volumes: KindReport;
  buildCache?: KindReport;
  totalBytes: number;
  skipped: { inUse: number };
  disk?: { freeBefore: number; freeAfter: number };
}

function kind(report: KindReport | undefined): string {
  if (!report || report.count === 0) return '-';
  return `${formatBytes(report.bytes)} (${report.count})`;
}

function disk(result: PruneResult): string {
  if (!result.disk) return 'not visible';
  if (result.dryRun) return `${formatBytes(result.disk.freeBefore)} now`;
  return `${formatBytes(result.disk.freeBefore)} -> ${formatBytes(result.disk.freeAfter)}`;
}

function isPruneResult(value: unknown): value is PruneResult {
  return typeof value === 'object' && value !== null && 'totalBytes' in value && 'images' in value;
}

/**
 * The summary of a scheduled `prune`: one line per host with bytes reclaimed by kind (count in
 * brackets) and free disk before -> after, the total, then every failure with its reason and every host
 * that did not answer within `timeoutMs`, by name.
 */
export function pruneReportText(rows: CommandRow[], timeoutMs: number): string {
  const done = rows.filter((r) => r.status === 'done' && isPruneResult(r.result));
  const results = done.map((r) => r.result as PruneResult);
  const dryRun = results.length > 0 && results.every((r) => r.dryRun);
  const lines: string[] = [];
  if (done.length > 0) {
    const header = [
      'HOST',
      'CONTAINERS',
      'IMAGES',
      'VOLUMES',
      'BUILD CACHE',
      dryRun ? 'WOULD FREE' : 'RECLAIMED',
      dryRun ? 'DISK FREE' : 'DISK FREE BEFORE -> AFTER',
    ];
    const body = results.map((r) => [r.host, kind(r.containers), kind(r.images), kind(r.volumes), kind(r.buildCache), formatBytes(r.totalBytes), disk(r)]);
    lines.push(table([header, ...body]));
    const total = results.reduce((sum, r) => sum + r.totalBytes, 0);
    const inUse = results.reduce((sum, r) => sum + r.skipped.inUse, 0);
    lines.push(
      `${dryRun ? 'would free' : 'reclaimed'} ${formatBytes(total)} on ${results.length} host${results.length === 1 ? '' : 's'}` +
        (inUse > 0 ? `; ${inUse} object${inUse === 1 ? '' : 's'} came into use and stayed` : ''),
    );
  }
  // Hosts that finished without a prune result (an older worker) still show what they said.
  for (const row of rows.filter((r) => r.status === 'done' && !isPruneResult(r.result))) lines.push(`${row.host}: ${row.summary ?? 'done'}`);
  const failed = rows.filter((r) => r.status === 'failed');
  if (failed.length > 0) lines.push(`failed on ${failed.length}:`, ...failed.map((r) => `  ${r.host}: ${r.summary ?? 'no reason given'}`));
  const silent = rows.filter((r) => r.status === 'silent');
  if (silent.length > 0) lines.push(`did not answer within ${formatMs(timeoutMs)}: ${silent.map((r) => r.host).join(', ')}`);
  if (rows.length === 0) lines.push('no hosts to prune');
  return lines.join('\n');
}
