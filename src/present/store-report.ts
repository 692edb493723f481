import { formatBytes, formatCount, formatSignedBytes, formatSpan } from './format.js';
import { renderSparkline } from './store-chart.js';
import type { StoreHistoryEntry, StoreTrend } from '../reports/store-history.js';

/**
 * The figures of one host's store report that the text shows: what the store-usage job's result
 * (jobs/store-usage.ts) carries, written out here so rendering does not import the host side.
 */
export interface StoreUsageResult {
  host: string;
  source: 'db' | 'daemon';
  sourceDetail: string;
  fallbackReason?: string;
  storeDir: string;
  paths: number;
  narBytes: number;
  disk: { freeBytes: number; totalBytes: number };
  garbage: { paths: number; narBytes: number; note: string };
  roots: { links: number; paths: number; byKind: Partial<Record<string, number>> };
  runtimeRoots: { note: string };
  settings: { keepOutputs: boolean; keepDerivations: boolean };
  largestPaths: Array<{ name: string; narBytes: number; live: boolean }>;
  largestClosures: Array<{ name: string; closureBytes: number; closurePaths: number; links: string[]; linkCount: number }>;
  trend: StoreTrend | null;
  warnings: string[];
  durationMs: number;
}

export interface FormatStoreReportOptions {
  /** The host's earlier reports (oldest first): adds sparklines of store size and free space. */
  history?: StoreHistoryEntry[];
}

/** One host's store report as plain-text lines (Slack wraps them in a code block or not). */
export function formatStoreReport(result: StoreUsageResult, options: FormatStoreReportOptions = {}): string[] {
  const lines: string[] = [];
  const { disk } = result;
  lines.push(
    `${result.host}: ${formatCount(result.paths)} paths, ${formatBytes(result.narBytes)} in ${result.storeDir}; ` +
      `disk ${formatBytes(disk.freeBytes)} free of ${formatBytes(disk.totalBytes)} (${formatPercent(disk.freeBytes, disk.totalBytes)} free)`,
  );
  lines.push(`garbage: ${formatCount(result.garbage.paths)} paths, ${formatBytes(result.garbage.narBytes)} (${result.garbage.note})`);
  const trend = result.trend;
  if (trend === null) {
    lines.push('trend: first report of this host');
  } else {
    lines.push(
      `since the report ${formatSpan(trend.sinceMs)} ago: store ${formatSignedBytes(trend.narBytesChange)} ` +
        `(${formatSignedCount(trend.pathsChange)} paths), garbage ${formatSignedBytes(trend.garbageBytesChange)}, ` +
        `free ${formatSignedBytes(trend.freeBytesChange)}`,
    );
  }
  const history = options.history ?? [];
  if (history.length > 1) {
    lines.push(
      `last ${history.length} reports: store ${renderSparkline(history.map((h) => h.narBytes))}  ` + `free ${renderSparkline(history.map((h) => h.freeBytes))}`,
    );
  }
  const kinds = Object.entries(result.roots.byKind)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
  lines.push(
    `roots: ${formatCount(result.roots.links)} links to ${formatCount(result.roots.paths)} paths` +
      `${kinds === '' ? '' : ` (${kinds})`}; runtime roots: ${result.runtimeRoots.note}`,
  );
  if (result.largestPaths.length > 0) {
    lines.push('largest paths:');
    const width = Math.max(...result.largestPaths.map((p) => formatBytes(p.narBytes).length));
    for (const p of result.largestPaths) {
      lines.push(`  ${formatBytes(p.narBytes).padStart(width)}  ${p.name}${p.live ? '' : '  (garbage)'}`);
    }
  }
  if (result.largestClosures.length > 0) {
    lines.push('largest closures (what each root keeps alive):');
    const width = Math.max(...result.largestClosures.map((c) => formatBytes(c.closureBytes).length));
    for (const c of result.largestClosures) {
      const more = c.linkCount > 1 ? ` (+${c.linkCount - 1} more)` : '';
      const held = c.links.length > 0 ? `  <- ${c.links[0]}${more}` : '';
      lines.push(`  ${formatBytes(c.closureBytes).padStart(width)}  ${c.name}  ${formatCount(c.closurePaths)} paths${held}`);
    }
  }
  const settings = `keep-outputs ${result.settings.keepOutputs}, keep-derivations ${result.settings.keepDerivations}`;
  lines.push(
    result.source === 'db'
      ? `read from the database ${result.sourceDetail} in ${formatSeconds(result.durationMs)} (${settings})`
      : `read through the nix daemon ${result.sourceDetail} in ${formatSeconds(result.durationMs)} (${settings})` +
          (result.fallbackReason === undefined ? '' : `, because ${result.fallbackReason}`),
  );
  for (const warning of result.warnings) lines.push(`warning: ${warning}`);
  return lines;
}

/** One host's row in the `all` table: its report, or why there is none. */
export interface StoreTableRow {
  host: string;
  result?: StoreUsageResult;
  /** One-line reason the host gave no report. */
  error?: string;
}

const HEADERS = ['host', 'free', 'free %', 'store', 'paths', 'garbage', 'store change'];

/**
 * The `all` table: one line per host sorted by free space, least first, so the hosts about to run
 * out lead; hosts without a report follow with their reason.
 */
export function formatStoreTable(rows: StoreTableRow[]): string[] {
  const ordered = sortByFreeSpace(rows);
  const cells = ordered
    .filter((row) => row.result !== undefined)
    .map((row) => {
      const r = row.result!;
      return [
        row.host,
        formatBytes(r.disk.freeBytes),
        formatPercent(r.disk.freeBytes, r.disk.totalBytes),
        formatBytes(r.narBytes),
        formatCount(r.paths),
        formatBytes(r.garbage.narBytes),
        r.trend === null ? 'first report' : formatSignedBytes(r.trend.narBytesChange),
      ];
    });
  const widths = HEADERS.map((h, c) => Math.max(h.length, ...cells.map((row) => (row[c] ?? '').length)));
  const render = (row: string[]): string =>
    row
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
      .join('  ')
      .trimEnd();
  const lines = [render(HEADERS), ...cells.map(render)];
  for (const row of ordered) {
    if (row.result === undefined) lines.push(`${row.host.padEnd(widths[0] ?? 0)}  no report: ${row.error ?? 'no answer'}`);
  }
  return lines;
}

/** Hosts with a report by free bytes (least first, then by name); hosts without one last, by name. */
export function sortByFreeSpace(rows: StoreTableRow[]): StoreTableRow[] {
  return [...rows].sort((a, b) => {
    if (a.result !== undefined && b.result !== undefined) {
      return a.result.disk.freeBytes - b.result.disk.freeBytes || a.host.localeCompare(b.host);
    }
    if (a.result !== undefined) return -1;
    if (b.result !== undefined) return 1;
    return a.host.localeCompare(b.host);
  });
}

function formatSignedCount(n: number): string {
  return n > 0 ? `+${formatCount(n)}` : formatCount(n);
}

function formatPercent(part: number, whole: number): string {
  if (whole <= 0) return '?';
  const percent = (100 * part) / whole;
  return `${percent < 10 ? percent.toFixed(1) : Math.round(percent)}%`;
}

function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
