import type { KnownBlock } from '@slack/types';

/** Slack's limits for one message (Block Kit). */
export const LIMITS = { blocksPerMessage: 50, sectionText: 3000, homeBlocks: 100 } as const;

/** Escapes the three characters Slack's mrkdwn treats specially. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Splits plain text into code-block sections that each fit Slack's section limit, cutting at line
 * boundaries. Returns every chunk: callers decide what goes in the message and what into a thread.
 */
export function codeSections(text: string, maxChars = LIMITS.sectionText - 10): KnownBlock[] {
  const chunks: string[] = [];
  let current = '';
  for (const rawLine of text.split('\n')) {
    const line = rawLine.length > maxChars ? `${rawLine.slice(0, maxChars - 1)}…` : rawLine;
    if (current.length + line.length + 1 > maxChars) {
      chunks.push(current);
      current = '';
    }
    current = current ? `${current}\n${line}` : line;
  }
  if (current || chunks.length === 0) chunks.push(current);
  return chunks.map((chunk) => ({ type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${escapeMrkdwn(chunk)}\`\`\`` } }));
}

export function section(mrkdwn: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: mrkdwn.slice(0, LIMITS.sectionText) } };
}

export function context(mrkdwn: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: mrkdwn.slice(0, LIMITS.sectionText) }] };
}

/** A reply's blocks, or undefined when it does not fit one message (send it as a file instead). */
export function textReplyBlocks(text: string): KnownBlock[] | undefined {
  const blocks = codeSections(text);
  return blocks.length <= LIMITS.blocksPerMessage ? blocks : undefined;
}

/** The first line of a text, for notifications and the `text` fallback. */
export function fallback(text: string): string {
  const first = text.split('\n', 1)[0] ?? '';
  return first.length > 150 ? `${first.slice(0, 149)}…` : first;
}
