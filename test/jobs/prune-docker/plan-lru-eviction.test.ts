import { describe, expect, it } from 'vitest';
import { planLruEviction, targetFreeBytes } from '../../../jobs/prune-docker/plan-lru-eviction.js';
import type { ImageFacts } from '../../../src/clients/docker/read-prune-state.js';

const image = (n: number, createdAt = 0): ImageFacts => ({
  id: `sha256:${String(n).padStart(64, '0')}`,
  parentId: '',
  createdAt,
  labels: {},
  refs: [],
  tags: [],
  size: 100,
  chain: [`layer-${n}`],
});
const sizeOf = (removed: ReadonlySet<string>): number => removed.size * 100;

describe('planLruEviction', () => {
  it('takes the least recently used first and stops once the predicted bytes reach what is needed', () => {
    const images = [image(1), image(2), image(3), image(4)] as const;
    const lastUse = new Map([
      [images[0].id, 40],
      [images[1].id, 10],
      [images[2].id, 30],
      [images[3].id, 20],
    ]);
    const plan = planLruEviction(images, lastUse, 150, sizeOf);
    expect(plan.images.map((i) => i.id)).toEqual([images[1].id, images[3].id]);
    expect(plan.predictedBytes).toBe(200);
    expect(plan.lastUsedAt).toEqual([10, 20]);
  });

  it('ranks an image it never saw used by its creation time, and breaks ties by id', () => {
    const images = [image(3, 5), image(1, 50), image(2, 5)] as const;
    expect(planLruEviction(images, new Map([[images[1].id, 1]]), 300, sizeOf).images.map((i) => i.id)).toEqual([images[1].id, images[2].id, images[0].id]);
  });

  it('evicts nothing when nothing is needed', () => {
    expect(planLruEviction([image(1)], new Map(), 0, sizeOf).images).toEqual([]);
  });
});

describe('targetFreeBytes', () => {
  it('is the bytes asked for, or the share of the filesystem', () => {
    expect(targetFreeBytes({ bytes: 5 }, 1000)).toBe(5);
    expect(targetFreeBytes({ percent: 20 }, 1000)).toBe(200);
  });
});
