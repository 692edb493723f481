import type { KnownBlock } from '@slack/types';
import type { CardText } from './command-card.js';
import { LIMITS, codeSections, context, section } from './blocks.js';
import { fallbackText, md, packCodeLines } from './mrkdwn.js';

/** Blocks around the host rows: title, the "more rows" note, footer, two for the total and its "rest in the thread" note. */
const FRAME_BLOCKS = 6;

/** Sections of the job's total shown on the card itself; the rest goes to the thread. */
const TOTAL_SECTIONS = 2;

/**
 * A job card: title, the host rows (as many as fit one message), the footer and the start of the
 * job's total. Returns the rows and the sections of the total that did not fit, which the updater
 * posts in the thread once the command finishes.
 */
export function cardBlocks(card: CardText): { blocks: KnownBlock[]; text: string; overflow: string[]; totalRest: KnownBlock[] } {
  const packed = card.lines.length > 0 ? packCodeLines(card.lines, LIMITS.sectionText) : [];
  const shown = packed.slice(0, LIMITS.blocksPerMessage - FRAME_BLOCKS);
  const shownRows = shown.reduce((n, p) => n + p.lines, 0);
  const overflow = card.lines.slice(shownRows);
  const blocks = [section(md`*${card.title}*`), ...shown.map((p) => section(p.block))];
  if (overflow.length > 0) blocks.push(context(md`…and ${overflow.length} more host rows, posted in the thread when the job finishes`));
  blocks.push(context(md`${card.footer}`));
  const total = card.total ? codeSections(card.total) : [];
  blocks.push(...total.slice(0, TOTAL_SECTIONS));
  const totalRest = total.slice(TOTAL_SECTIONS);
  if (totalRest.length > 0) blocks.push(context(md`…the rest of this report is in the thread`));
  return { blocks, text: fallbackText(`${card.title}: ${card.footer}`), overflow, totalRest };
}
