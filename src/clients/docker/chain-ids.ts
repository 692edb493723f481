import { createHash } from 'node:crypto';

/** OCI chain ids from an image's `RootFS.Layers` (diff ids): chain[i] = sha256(chain[i-1] + " " + diff[i]). */
export function chainIds(diffIds: readonly string[]): string[] {
  const chain: string[] = [];
  for (const diff of diffIds) {
    const parent = chain[chain.length - 1];
    chain.push(parent === undefined ? diff : `sha256:${createHash('sha256').update(`${parent} ${diff}`).digest('hex')}`);
  }
  return chain;
}
