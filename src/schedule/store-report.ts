import type { Result as StoreUsageResult } from '../../jobs/store-usage.js';
import type { BotCore } from '../bot/bot-core.js';
import { formatMs } from '../present/format.js';
import type { CommandRow } from '../queue/command-record.js';
import { renderStoreChart, STORE_CHART_LEGEND } from '../reports/store-chart.js';
import { computeStoreTrend, readStoreHistory, type StoreHistoryEntry } from '../reports/store-history.js';
import { formatAge, formatSignedBytes, formatStoreTable, type StoreTableRow } from '../reports/store-table.js';
import type { ScheduledReport } from './scheduled-report.js';
import { stackPngs } from './stack-png.js';

const WEEK_MS = 7 * 86400_000;
/** A report this close to a week old counts as last week's (weekly schedules drift a little). */
const WEEK_SLACK_MS = 12 * 3600_000;
/** Reports drawn per host in the chart. */
const CHART_REPORTS = 30;

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
  const since = trend.sinceMs >= WEEK_MS - WEEK_SLACK_MS ? `since ${formatAge(trend.sinceMs)} ago` : `since ${formatAge(trend.sinceMs)} ago (no report a week old)`;
  return `  ${host}: store ${formatSignedBytes(trend.narBytesChange)}, garbage ${formatSignedBytes(trend.garbageBytesChange)}, free ${formatSignedBytes(trend.freeBytesChange)} ${since}`;
}

/**
 * The summary of a scheduled `store`: the `all` table (worst free space first; hosts that failed or did
 * not answer listed with why), each host's trend since last week from the report history, and one PNG
 * with every host's chart of store size and free disk over its last reports, top to bottom.
 */
export async function storeReport(core: Pick<BotCore, 'redis' | 'prefix'>, rows: CommandRow[], timeoutMs: number): Promise<ScheduledReport> {
  const tableRows: StoreTableRow[] = rows.map((row) => {
    if (row.status === 'done' && isStoreResult(row.result)) return { host: row.host, result: row.result };
    if (row.status === 'silent') return { host: row.host, error: `did not answer within ${formatMs(timeoutMs)}` };
    return { host: row.host, error: row.status === 'failed' ? `failed: ${row.summary ?? 'no reason given'}` : (row.summary ?? row.status) };
  });
  if (rows.length === 0) return { text: 'no hosts to report on' };
  const lines = formatStoreTable(tableRows);
  const reported = tableRows.filter((r) => r.result !== undefined).map((r) => r.host);
  if (reported.length === 0) return { text: lines.join('\n') };

  const histories = await Promise.all(reported.map((host) => readStoreHistory(core.redis, core.prefix, host, CHART_REPORTS)));
  lines.push('trend since last week:', ...reported.map((host, i) => trendLine(host, histories[i] ?? [])));
  lines.push(`chart: ${reported.join(', ')} from top to bottom, last ${CHART_REPORTS} reports at most; ${STORE_CHART_LEGEND}`);
  const chart = stackPngs(histories.map((history) => renderStoreChart(history)));
  return { text: lines.join('\n'), attachment: { filename: 'store-usage.png', bytes: chart, title: `Nix store and free disk, ${reported.join(', ')}` } };
}
