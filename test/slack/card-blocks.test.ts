import { describe, expect, it } from 'vitest';
import { cardBlocks } from '../../src/slack/card-blocks.js';
import { checkBlocks } from '../fakes/slack/check-blocks.js';
import { messageSequences } from '../fakes/slack/mrkdwn-syntax.js';

describe('cardBlocks', () => {
  it('fits Slack’s limits after escaping and carries every row that does not fit into the overflow', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `✗ host-${i} (3 ms): refused ${'&<>'.repeat(20)} <!channel>`);
    const card = cardBlocks({ title: 'prune <!here> & all', lines, footer: 'finished: 0 done, 2000 failed', finished: true, total: '&'.repeat(4000) });
    expect(checkBlocks(card.blocks, 50)).toEqual([]);
    expect(messageSequences(card.text, card.blocks)).toEqual([]);
    const shown = JSON.stringify(card.blocks).match(/host-\d+ /g)!.length;
    expect(shown + card.overflow.length).toBe(2000);
    expect(card.overflow[0]).toContain(`host-${shown} `);
  });
});
