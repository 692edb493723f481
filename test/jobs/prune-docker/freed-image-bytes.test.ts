import { describe, expect, it } from 'vitest';
import { freedImageBytes, type LayeredImage } from '../../../jobs/prune-docker/freed-image-bytes.js';

describe('freedImageBytes', () => {
  // base (100) <- app1 (+50), base <- app2 (+30); other (70) alone.
  const base: LayeredImage = { id: 'base', size: 100, chain: ['L1'] };
  const app1: LayeredImage = { id: 'app1', size: 150, chain: ['L1', 'L2'] };
  const app2: LayeredImage = { id: 'app2', size: 130, chain: ['L1', 'L3'] };
  const other: LayeredImage = { id: 'other', size: 70, chain: ['L9'] };
  const images = [base, app1, app2, other];

  it('counts only the layers no remaining image uses', () => {
    expect(freedImageBytes(images, new Set(['app1']))).toBe(50);
    expect(freedImageBytes(images, new Set(['app1', 'app2']))).toBe(80);
    expect(freedImageBytes(images, new Set(['base', 'app1', 'app2']))).toBe(180);
    expect(freedImageBytes(images, new Set(['other']))).toBe(70);
    expect(freedImageBytes(images, new Set())).toBe(0);
  });

  it('counts a shared layer once when every image on it goes, even without an image ending there', () => {
    const withoutBase = [app1, app2];
    expect(freedImageBytes(withoutBase, new Set(['app1', 'app2']))).toBeLessThanOrEqual(180);
    expect(freedImageBytes(withoutBase, new Set(['app1', 'app2']))).toBeGreaterThanOrEqual(150);
    expect(freedImageBytes(withoutBase, new Set(['app1']))).toBeLessThanOrEqual(50);
  });
});
