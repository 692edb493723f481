import type { CommandRow } from '../queue/command-record.js';
import { computeStoreTrend, type StoreHistoryEntry } from '../reports/store-history.js';
import { formatMs, formatSignedBytes, formatSpan } from './format.js';
import { stackPngs } from './stack-png.js';
import { renderStoreChart, STORE_CHART_LEGEND } from './store-chart.js';
import { formatStoreTable, type StoreTableRow, type StoreUsageResult } from './store-report.js';

const WEEK_MS = 7 * 86400_000;
/** A report this close to a week old counts as last week's (weekly schedules drift a little). */
const WEEK_SLACK_MS = 12 * 3600_000;
/** Reports drawn per host in the chart. */
export const CHART_REPORTS = 30;

/** What a scheduled `store` posts: the text, and one PNG with every reporting host's chart. */
export interface StoreSummary {
  text: string;
  attachment?: { filename: string; bytes: Buffer; title: string };
}

function isStoreResult(value: unknown): value is StoreUsageResult {
  return typeof value === 'object' && value !== null && 'narBytes' in value && 'garbage' in value && 'disk' in value;
}

/** Last week's report of a host (the newest at least about a week older than the latest), else its oldest. */
function weekAgo(history: StoreHistoryEntry[], latest: StoreHistoryEntry): StoreHistoryEntry | undefined {
  const older = history.filter((e) => e.at < latest.at);
  return older.filter((e) => e.at <= latest.at - WEEK_MS + WEEK_SLACK_MS).at(-1) ?? older[0];
}

function trendLine(host: string, history: StoreHistoryEntry[]): string {
  const latest = history.at(-1);
  const base = latest && weekAgo(history, latest);
  const trend = latest && computeStoreTrend(base, latest);
  if (!trend) return `  ${host}: first report, no trend yet`;
  const since =
    trend.sinceMs >= WEEK_MS - WEEK_SLACK_MS ? `since ${formatSpan(trend.sinceMs)} ago` : `since ${formatSpan(trend.sinceMs)} ago (no report a week old)`;
  return `  ${host}: store ${formatSignedBytes(trend.narBytesChange)}, garbage ${formatSignedBytes(trend.garbageBytesChange)}, free ${formatSignedBytes(trend.freeBytesChange)} ${since}`;
}

/** The hosts that finished with a store report, in row order: the ones whose history the summary charts. */
export function reportedHosts(rows: CommandRow[]): string[] {
  return rows.filter((row) => row.status === 'done' && isStoreResult(row.result)).map((row) => row.host);
}

/**
 * The summary of a scheduled `store`: the `all` table (worst free space first; hosts that failed or did
 * not answer listed with why), each host's trend since last week from its report history (`histories`,
 * oldest first, by host), and one PNG with every host's chart of store size and free disk over its last
 * reports, top to bottom.
 */
export function storeSummary(rows: CommandRow[], timeoutMs: number, histories: ReadonlyMap<string, StoreHistoryEntry[]>): StoreSummary {
  const tableRows: StoreTableRow[] = rows.map((row) => {
    if (row.status === 'done' && isStoreResult(row.result)) return { host: row.host, result: row.result };
    if (row.status === 'silent') return { host: row.host, error: `did not answer within ${formatMs(timeoutMs)}` };
    return { host: row.host, error: row.status === 'failed' ? `failed: ${row.summary ?? 'no reason given'}` : (row.summary ?? row.status) };
  });
  if (rows.length === 0) return { text: 'no hosts to report on' };
  const lines = formatStoreTable(tableRows);
  const reported = tableRows.filter((r) => r.result !== undefined).map((r) => r.host);
  if (reported.length === 0) return { text: lines.join('\n') };

  const charted = reported.map((host) => histories.get(host) ?? []);
  lines.push('trend since last week:', ...reported.map((host, i) => trendLine(host, charted[i] ?? [])));
  lines.push(`chart: ${reported.join(', ')} from top to bottom, last ${CHART_REPORTS} reports at most; ${STORE_CHART_LEGEND}`);
  const chart = stackPngs(charted.map((history) => renderStoreChart(history)));
  return { text: lines.join('\n'), attachment: { filename: 'store-usage.png', bytes: chart, title: `Nix store and free disk, ${reported.join(', ')}` } };
}
