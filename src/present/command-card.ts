import type { CommandRecord, CommandRow } from '../queue/command-record.js';
import { isTerminal } from '../queue/command-record.js';
import { formatMs } from './format.js';

const ICON: Record<CommandRow['status'], string> = {
  queued: '…',
  running: '▶',
  retrying: '↻',
  done: '✓',
  failed: '✗',
  silent: '?',
};

/** One host's line: status, duration, and the phase or the result summary. */
export function rowLine(row: CommandRow, now = Date.now()): string {
  const started = row.startedAt ?? row.queuedAt;
  const took = row.finishedAt !== undefined ? ` (${formatMs(row.finishedAt - started)})` : '';
  const what =
    row.status === 'queued'
      ? 'queued'
      : row.status === 'silent'
        ? `did not answer within the time limit; is its worker running?`
        : isTerminal(row.status)
          ? (row.summary ?? row.status)
          : [row.phase ?? 'running', row.detail].filter(Boolean).join(': ') + ` (${formatMs(now - started)} so far)`;
  return `${ICON[row.status]} ${row.host}${took}: ${what.split('\n')[0]}`;
}

export interface CardText {
  title: string;
  lines: string[];
  footer: string;
  finished: boolean;
  /** The job's own total across hosts, once every host finished (may span lines, e.g. a table). */
  total?: string;
}

/** A job card as text: a title, one line per host, and a total once every host finished. */
export function commandCard(command: CommandRecord, rows: CommandRow[], now = Date.now()): CardText {
  const finished = rows.length > 0 && rows.every((r) => isTerminal(r.status));
  const counts = { done: 0, failed: 0, silent: 0, open: 0 };
  for (const row of rows) {
    if (row.status === 'done') counts.done++;
    else if (row.status === 'failed') counts.failed++;
    else if (row.status === 'silent') counts.silent++;
    else counts.open++;
  }
  const parts = [`${counts.done} done`];
  if (counts.failed) parts.push(`${counts.failed} failed`);
  if (counts.silent) parts.push(`${counts.silent} did not answer`);
  if (counts.open) parts.push(`${counts.open} still running`);
  const elapsed = formatMs((finished ? Math.max(...rows.map((r) => r.finishedAt ?? now)) : now) - command.createdAt);
  return {
    title: `${command.text} [job ${command.id}]`,
    lines: rows.map((row) => rowLine(row, now)),
    footer: `${finished ? 'finished' : 'running'}: ${parts.join(', ')} in ${elapsed}`,
    finished,
  };
}

export function cardAsText(card: CardText): string {
  return [card.title, ...card.lines, card.footer, ...(card.total ? [card.total] : [])].join('\n');
}
