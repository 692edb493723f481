import { describe, expect, it } from 'vitest';
import { cardBlocks } from '../../src/present/command-card-blocks.js';
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

  it('shows the start of a long total on the card and gives the rest for the thread, within Slack’s limits', () => {
    const total = Array.from({ length: 400 }, (_, i) => `  ${i} MiB  /nix/store/${'a'.repeat(32)}-path-${i} & <x>`).join('\n');
    const card = cardBlocks({ title: 'store ci-1 --top 100', lines: ['✓ ci-1 (2 s): ci-1: 9 paths'], footer: 'finished: 1 done', finished: true, total });
    expect(checkBlocks(card.blocks, 50)).toEqual([]);
    expect(checkBlocks(card.totalRest, 1000)).toEqual([]);
    expect(card.totalRest.length).toBeGreaterThan(0);
    expect(JSON.stringify(card.blocks)).toContain('the rest of this report is in the thread');
    const shown = [...card.blocks, ...card.totalRest].map((b) => JSON.stringify(b)).join('');
    for (const i of [0, 199, 399]) expect(shown).toContain(`-path-${i} `);
  });

  it('needs no thread for a short total', () => {
    const card = cardBlocks({ title: 'store ci-1', lines: ['✓ ci-1'], footer: 'finished: 1 done', finished: true, total: 'garbage: 3 paths' });
    expect(card.totalRest).toEqual([]);
    expect(JSON.stringify(card.blocks)).not.toContain('in the thread');
  });

  it('shows a small card whole: the title, its rows in a code block and the footer, with nothing left over', () => {
    const card = cardBlocks({ title: 'ping all', lines: ['✓ ci-1 (3 ms): pong', '✓ ci-2 (4 ms): pong'], footer: 'finished: 2 done', finished: true });
    expect(card.overflow).toEqual([]);
    const texts = card.blocks.map((block) => JSON.stringify(block));
    expect(texts).toHaveLength(3);
    expect(texts[0]).toContain('*ping all*');
    expect(texts[1]).toContain('ci-1 (3 ms): pong');
    expect(texts[1]).toContain('ci-2 (4 ms): pong');
    expect(texts[2]).toContain('finished: 2 done');
    expect(card.text).toBe('ping all: finished: 2 done');
  });

  it('adds the total after the footer, and says nothing of more rows when none are left over', () => {
    const card = cardBlocks({ title: 'prune all', lines: ['✓ ci-1: 1 GiB'], footer: 'finished: 1 done', finished: true, total: 'reclaimed 1 GiB on 1 host' });
    const last = JSON.stringify(card.blocks[card.blocks.length - 1]);
    expect(last).toContain('reclaimed 1 GiB on 1 host');
    expect(JSON.stringify(card.blocks)).not.toContain('more host rows');
  });

  it('shows a card without rows as its title and footer', () => {
    const card = cardBlocks({ title: 'store all', lines: [], footer: 'no hosts answered', finished: false });
    expect(card.blocks).toHaveLength(2);
    expect(card.overflow).toEqual([]);
  });
});
