import { describe, expect, it } from 'vitest';
import { createLimiter, mapLimit } from '../../../src/clients/docker/map-limit.js';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2));

describe('mapLimit', () => {
  it('keeps the order of results and never runs more than the limit at once', async () => {
    let active = 0;
    let peak = 0;
    const out = await mapLimit([5, 4, 3, 2, 1], 2, async (n) => {
      peak = Math.max(peak, ++active);
      await tick();
      active--;
      return n * 2;
    });
    expect(out).toEqual([10, 8, 6, 4, 2]);
    expect(peak).toBe(2);
  });

  it('stops starting work once the signal aborts', async () => {
    const controller = new AbortController();
    let started = 0;
    const run = mapLimit(
      [1, 2, 3, 4],
      1,
      async () => {
        started++;
        controller.abort(new Error('stop'));
        await tick();
      },
      controller.signal,
    );
    await expect(run).rejects.toThrow('stop');
    expect(started).toBe(1);
  });
});

describe('createLimiter', () => {
  it('hands a freed slot to the next waiter so the limit holds', async () => {
    const limit = createLimiter(3);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        limit(async () => {
          peak = Math.max(peak, ++active);
          await tick();
          active--;
        }),
      ),
    );
    expect(peak).toBe(3);
  });
});
