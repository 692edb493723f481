import type { CommandRecord, CommandRow } from '../queue/command-record.js';
import { cardAsText, commandCard } from './command-card.js';
import { formatAge, table } from './format.js';

/** `jobs`: recent commands, newest first, with their state. */
export function recentCommandsText(items: Array<{ command: CommandRecord; rows: CommandRow[] }>, now = Date.now()): string {
  if (items.length === 0) return 'no jobs yet';
  const rows = [['JOB', 'WHEN', 'WHO', 'COMMAND', 'STATE']];
  for (const { command, rows: hostRows } of items) {
    rows.push([command.id, formatAge((now - command.createdAt) / 1000), command.requester.user, command.text, commandCard(command, hostRows, now).footer]);
  }
  return table(rows);
}

/** `job <id>`: the command's card as text. */
export function commandText(command: CommandRecord, rows: CommandRow[]): string {
  return cardAsText(commandCard(command, rows));
}
