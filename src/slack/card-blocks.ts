import type { KnownBlock } from '@slack/types';
import type { CardText } from '../present/command-card.js';
import { LIMITS, codeSections, context, escapeMrkdwn, section } from './blocks.js';

/**
 * A job card: title, the host rows (as many as fit one message) and the footer. Returns the rows that
 * did not fit, which the updater posts in the thread once the command finishes.
 */
export function cardBlocks(card: CardText): { blocks: KnownBlock[]; text: string; overflow: string[] } {
  const head = section(`*${escapeMrkdwn(card.title)}*`);
  const foot = context(escapeMrkdwn(card.footer));
  const room = LIMITS.blocksPerMessage - 5;
  const rowBlocks = codeSections(card.lines.join('\n'));
  let overflow: string[] = [];
  let shown = rowBlocks;
  if (rowBlocks.length > room) {
    shown = rowBlocks.slice(0, room);
    const shownChars = shown.reduce((n, b) => n + ((b as { text: { text: string } }).text.text.length - 6), 0);
    let used = 0;
    let index = 0;
    while (index < card.lines.length && used + card.lines[index]!.length + 1 <= shownChars) used += card.lines[index++]!.length + 1;
    overflow = card.lines.slice(index);
  }
  const blocks = [head, ...shown];
  if (overflow.length > 0) blocks.push(context(`…and ${overflow.length} more host rows, posted in the thread when the job finishes`));
  blocks.push(foot);
  if (card.total) blocks.push(...codeSections(card.total).slice(0, 2));
  return { blocks, text: `${card.title}: ${card.footer}`, overflow };
}
