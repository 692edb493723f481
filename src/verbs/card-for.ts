import { findControlJob } from '../../jobs/control/index.js';
import { findHostJob } from '../../jobs/index.js';
import { commandCard, type CardText } from '../present/command-card.js';
import type { CommandRecord, CommandRow } from '../queue/command-record.js';

/** The card of a command, with the job's own total across hosts once every host finished. */
export function cardFor(command: CommandRecord, rows: CommandRow[], now = Date.now()): CardText {
  const card = commandCard(command, rows, now);
  if (!card.finished) return card;
  const module = findHostJob(command.job) ?? findControlJob(command.job);
  const results = rows.filter((r) => r.status === 'done' && r.result !== undefined).map((r) => r.result);
  if (module?.summarizeAll && results.length > 0) {
    try {
      return { ...card, total: module.summarizeAll(results).trim() };
    } catch {
      return card;
    }
  }
  return card;
}
