import type { KnownBlock } from '@slack/types';
import type { CardText } from '../present/command-card.js';
import { LIMITS, codeSections, context, section } from './blocks.js';
import { fallbackText, md, packCodeLines } from './mrkdwn.js';

/** Blocks around the host rows: title, the "more rows" note, footer, and up to two for the total. */
const FRAME_BLOCKS = 5;

/**
 * A job card: title, the host rows (as many as fit one message) and the footer. Returns the rows that
 * did not fit, which the updater posts in the thread once the command finishes.
 */
export function cardBlocks(card: CardText): { blocks: KnownBlock[]; text: string; overflow: string[] } {
  const packed = card.lines.length > 0 ? packCodeLines(card.lines, LIMITS.sectionText) : [];
  const shown = packed.slice(0, LIMITS.blocksPerMessage - FRAME_BLOCKS);
  const shownRows = shown.reduce((n, p) => n + p.lines, 0);
  const overflow = card.lines.slice(shownRows);
  const blocks = [section(md`*${card.title}*`), ...shown.map((p) => section(p.block))];
  if (overflow.length > 0) blocks.push(context(md`…and ${overflow.length} more host rows, posted in the thread when the job finishes`));
  blocks.push(context(md`${card.footer}`));
  if (card.total) blocks.push(...codeSections(card.total).slice(0, 2));
  return { blocks, text: fallbackText(`${card.title}: ${card.footer}`), overflow };
}
