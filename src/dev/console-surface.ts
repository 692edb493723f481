import type { Approval } from '../approvals/approval-store.js';
import type { Surface } from '../bot/surface.js';
import type { CardText } from '../present/command-card.js';
import type { CommandRecord } from '../queue/command-record.js';
import { rotationCommand } from '../present/token-expiry.js';
import { expiryWarningBlocks } from '../present/token-expiry-blocks.js';

/**
 * The Surface of `runnerops dev` without Slack: cards, approvals and notes are printed to the terminal;
 * a card prints a line each time a host's row changes, and its total when it finishes.
 */
export function createConsoleSurface(write: (line: string) => void): Surface {
  const printed = new Map<string, Set<string>>();
  const approvalText = (a: Approval) =>
    a.state === 'pending'
      ? `approval ${a.id}: ${a.requester.user} asks to run "${a.text}"; approvers (${a.approvers.join(', ')}) answer with "as <user> approve ${a.id}" or "as <user> deny ${a.id} <reason>"; expires ${new Date(a.expiresAt).toISOString()}`
      : `approval ${a.id}: ${a.state}${a.decidedBy ? ` by ${a.decidedBy}` : ''}${a.reason ? ` (${a.reason})` : ''}${a.outcome ? `\n${a.outcome}` : ''}`;
  /** Prints the lines of `card` not printed yet for its command, and its footer and total once it finishes. */
  const printCard = (command: CommandRecord, card: CardText) => {
    const seen = printed.get(command.id) ?? new Set<string>();
    printed.set(command.id, seen);
    for (const line of card.lines) {
      if (!seen.has(line) && !line.includes('so far)')) {
        seen.add(line);
        write(`  [${command.id}] ${line}`);
      }
    }
    if (card.finished && !seen.has('__footer')) {
      seen.add('__footer');
      write(`  [${command.id}] ${card.footer}`);
      if (card.total)
        write(
          card.total
            .split('\n')
            .map((line) => `  [${command.id}] ${line}`)
            .join('\n'),
        );
    }
  };
  return {
    async postCard(command, card) {
      printed.set(command.id, new Set());
      write(`queued: ${card.title}`);
      // A card posted already finished gets no redraw: its rows are printed now.
      printCard(command, card);
      return { channel: 'console', ts: command.id };
    },
    async updateCard(command, card) {
      printCard(command, card);
    },
    async postApproval(approval) {
      write(approvalText(approval));
      return { channel: 'console', ts: approval.id };
    },
    async updateApproval(approval) {
      write(approvalText(approval));
    },
    async tell(_user, _channel, text) {
      write(text);
    },
    async postExpiryWarning(_channel, tokens, now) {
      write(expiryWarningBlocks(tokens, now).text);
      for (const token of tokens)
        write(
          `  ${token.host} / ${token.runner}: ${token.expired ? 'EXPIRED' : new Date(token.expiresAt).toISOString()}; to rotate: ${rotationCommand(token)}`,
        );
    },
    async post(_channel, text, attachment) {
      write(text);
      if (attachment) write(`(attachment ${attachment.filename}, ${attachment.bytes.length} bytes, not shown in the console)`);
    },
  };
}
