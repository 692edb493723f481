import type { BotCore } from '../bot/bot-core.js';
import { CHART_REPORTS, reportedHosts, storeSummary } from '../present/scheduled-store-report.js';
import type { CommandRow } from '../queue/command-record.js';
import { readStoreHistory } from '../reports/store-history.js';
import type { ScheduledReport } from './scheduled-report.js';

/**
 * The summary of a scheduled `store`: reads the last reports of every host that answered with one from
 * Redis, then renders the table, the trends since last week and the chart (present/scheduled-store-report.ts).
 */
export async function storeReport(core: Pick<BotCore, 'redis' | 'prefix'>, rows: CommandRow[], timeoutMs: number): Promise<ScheduledReport> {
  const hosts = reportedHosts(rows);
  const histories = await Promise.all(hosts.map((host) => readStoreHistory(core.redis, core.prefix, host, CHART_REPORTS)));
  return storeSummary(rows, timeoutMs, new Map(hosts.map((host, i) => [host, histories[i] ?? []])));
}
