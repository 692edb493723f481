import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chainIds } from '../../../src/clients/docker/chain-ids.js';

describe('chainIds', () => {
  it('keeps the first diff id and hashes each next one onto its parent', () => {
    const [a, b] = ['sha256:' + 'a'.repeat(64), 'sha256:' + 'b'.repeat(64)];
    const expected = 'sha256:' + createHash('sha256').update(`${a} ${b}`).digest('hex');
    expect(chainIds([a, b])).toEqual([a, expected]);
    expect(chainIds([])).toEqual([]);
  });
});
