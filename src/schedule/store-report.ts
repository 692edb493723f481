import type { BotCore } from '../bot/bot-core.js';
import type { CommandRow } from '../queue/command-record.js';
import { rowsReportText } from './rows-report.js';
import type { ScheduledReport } from './run-scheduled-command.js';

/** The summary of a scheduled `store`: each host's store report line, failures and silent hosts. */
export async function storeReport(_core: Pick<BotCore, 'redis' | 'prefix'>, rows: CommandRow[], timeoutMs: number): Promise<ScheduledReport> {
  return { text: rowsReportText(rows, timeoutMs) };
}
