import type { KnownBlock } from '@slack/types';
import { codeBlocks, fit, fitPlain, joinMrkdwn, md, type Mrkdwn } from './mrkdwn.js';

/** Slack's limits (Block Kit, messages and modals), all counted after escaping. */
export const LIMITS = {
  blocksPerMessage: 50,
  sectionText: 3000,
  fieldText: 2000,
  contextText: 3000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  homeBlocks: 100,
  modalBlocks: 100,
  modalTitle: 24,
  privateMetadata: 3000,
  /** Slack cuts a message's `text` around 40,000 characters; longer output goes out as a file. */
  messageText: 40_000,
} as const;

export function section(text: Mrkdwn): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: fit(text, LIMITS.sectionText).text } };
}

export function context(text: Mrkdwn): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: fit(text, LIMITS.contextText).text }] };
}

export function header(text: string): KnownBlock {
  return { type: 'header', text: { type: 'plain_text', text: fitPlain(text, LIMITS.headerText) } };
}

/** Plain text as code-block sections, each within the section limit after escaping. */
export function codeSections(text: string): KnownBlock[] {
  return codeBlocks(text, LIMITS.sectionText).map((block) => section(block));
}

/** Lines joined into as many sections as they need (each within Slack's section limit), at most `room` blocks. */
export function sections(lines: Mrkdwn[], room: number): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  let current: Mrkdwn[] = [];
  let length = 0;
  for (const line of lines) {
    if (current.length > 0 && length + 1 + line.length > LIMITS.sectionText) {
      blocks.push(section(joinMrkdwn(current, '\n')));
      current = [];
      length = 0;
    }
    current.push(line);
    length += (current.length > 1 ? 1 : 0) + line.length;
  }
  if (current.length > 0) blocks.push(section(joinMrkdwn(current, '\n')));
  if (blocks.length <= room) return blocks;
  return [...blocks.slice(0, Math.max(0, room - 1)), context(md`…and more; see /runner hosts`)];
}
