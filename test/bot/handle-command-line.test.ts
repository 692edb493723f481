import { describe, expect, it } from 'vitest';
import { outcomeNotShown } from '../../src/bot/handle-command-line.js';
import type { CommandRecord } from '../../src/queue/command-record.js';

const command = { id: 'ec9162076b', text: 'ping all' } as CommandRecord;
const redisDown = Object.assign(new Error('Connection is closed.'), {});

describe('outcomeNotShown', () => {
  it('never says "nothing was queued" about a command that was queued', () => {
    const text = outcomeNotShown({ kind: 'queued', command }, redisDown);
    expect(text).toBe('queued ping all [job ec9162076b], but its card could not be shown (Redis did not answer); "job ec9162076b" shows how it ends');
    expect(text).not.toContain('nothing was queued');
  });

  it('keeps the full reason for an answer that was only text', () => {
    expect(outcomeNotShown({ kind: 'text', text: 'x' }, redisDown)).toBe(
      'could not show the result: Redis did not answer, so nothing was queued; try again in a moment (the bot reconnects by itself)',
    );
  });
});
