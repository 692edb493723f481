import type { KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/present/blocks.js';
import { messageParts, tooLongNote } from '../../src/present/message-parts.js';

const blocks = (n: number): KnownBlock[] => Array.from({ length: n }, (_, i) => ({ type: 'section', text: { type: 'mrkdwn', text: `row ${i}` } }));

describe('messageParts', () => {
  it('keeps one message as it is, without a part label', () => {
    const parts = messageParts('hosts <all>', blocks(3));
    expect(parts).toEqual([{ text: 'hosts &lt;all&gt;', blocks: blocks(3) }]);
  });

  it('splits more blocks than a message holds into labelled parts', () => {
    const parts = messageParts('audit', blocks(LIMITS.blocksPerMessage + 1));
    expect(parts.map((p) => [p.text, p.blocks.length])).toEqual([
      ['audit (part 1 of 2)', LIMITS.blocksPerMessage],
      ['audit (part 2 of 2)', 1],
    ]);
  });
});

describe('tooLongNote', () => {
  it('says how many parts were left out and how to ask for fewer lines', () => {
    const note = tooLongNote(2);
    expect(note.text).toContain('…and 2 more parts of 50 blocks each');
    expect(note.blocks).toHaveLength(1);
  });
});
