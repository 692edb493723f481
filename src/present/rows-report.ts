import { formatMs } from './format.js';
import type { CommandRow } from '../queue/command-record.js';

/**
 * The summary of a scheduled command without a report of its own: each host's one-line result, then
 * failures with their reason and the hosts that did not answer within `timeoutMs`, by name.
 */
export function rowsReportText(rows: CommandRow[], timeoutMs: number): string {
  const lines = rows.filter((r) => r.status === 'done').map((r) => `${r.host}: ${(r.summary ?? 'done').split('\n')[0]}`);
  const failed = rows.filter((r) => r.status === 'failed');
  if (failed.length > 0) lines.push(`failed on ${failed.length}:`, ...failed.map((r) => `  ${r.host}: ${r.summary ?? 'no reason given'}`));
  const silent = rows.filter((r) => r.status === 'silent');
  if (silent.length > 0) lines.push(`did not answer within ${formatMs(timeoutMs)}: ${silent.map((r) => r.host).join(', ')}`);
  if (rows.length === 0) lines.push('no hosts');
  return lines.join('\n');
}
