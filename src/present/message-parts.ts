import type { KnownBlock } from '@slack/types';
import { context, LIMITS } from './blocks.js';
import { fallbackText, md } from './mrkdwn.js';

/** Splits blocks into messages of at most 50, each with its own escaped fallback and a part label. */
export function messageParts(text: string, blocks: KnownBlock[]): Array<{ text: string; blocks: KnownBlock[] }> {
  const count = Math.ceil(blocks.length / LIMITS.blocksPerMessage);
  const parts = [];
  for (let i = 0; i < count; i++) {
    const label = count > 1 ? ` (part ${i + 1} of ${count})` : '';
    parts.push({
      text: `${fallbackText(text, 300 - label.length)}${label}`,
      blocks: blocks.slice(i * LIMITS.blocksPerMessage, (i + 1) * LIMITS.blocksPerMessage),
    });
  }
  return parts;
}

/** The last part of an answer too long for one request's response_url. */
export function tooLongNote(left: number): { text: string; blocks: KnownBlock[] } {
  const text = `…and ${left} more part${left === 1 ? '' : 's'} of ${LIMITS.blocksPerMessage} blocks each; ask for fewer lines (e.g. "/runner audit 50" or "/runner jobs 20")`;
  return { text: fallbackText(text), blocks: [context(md`${text}`)] };
}
