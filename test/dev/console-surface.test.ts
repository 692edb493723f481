import { describe, expect, it } from 'vitest';
import { createConsoleSurface } from '../../src/dev/console-surface.js';
import type { CommandRecord } from '../../src/queue/command-record.js';
import type { CardText } from '../../src/present/command-card.js';

const command: CommandRecord = {
  id: 'c1',
  verb: 'ping',
  text: 'ping ci-1',
  job: 'ping',
  hosts: ['ci-1'],
  requester: { via: 'console', user: 'dev' },
  createdAt: 0,
};
const running: CardText = { title: 'ping ci-1', lines: ['… ci-1: running'], footer: 'running: 1 of 1', finished: false };
const finished: CardText = { title: 'ping ci-1', lines: ['✓ ci-1 (3 ms): pong'], footer: 'finished: 1 done in 3 ms', finished: true, total: 'total: 1 host' };

function surface() {
  const lines: string[] = [];
  return { lines, surface: createConsoleSurface((text) => lines.push(...text.split('\n'))) };
}

describe('createConsoleSurface', () => {
  it('prints a card posted already finished whole: its rows, footer and total, as no redraw may follow', async () => {
    const { lines, surface: console } = surface();
    await console.postCard(command, finished, 'console');
    expect(lines).toEqual(['queued: ping ci-1', '  [c1] ✓ ci-1 (3 ms): pong', '  [c1] finished: 1 done in 3 ms', '  [c1] total: 1 host']);
  });

  it('prints each row line once across the post and later redraws, and the footer once the card finishes', async () => {
    const { lines, surface: console } = surface();
    await console.postCard(command, running, 'console');
    await console.updateCard(command, running);
    await console.updateCard(command, finished);
    await console.updateCard(command, finished);
    expect(lines).toEqual([
      'queued: ping ci-1',
      '  [c1] … ci-1: running',
      '  [c1] ✓ ci-1 (3 ms): pong',
      '  [c1] finished: 1 done in 3 ms',
      '  [c1] total: 1 host',
    ]);
  });
});
