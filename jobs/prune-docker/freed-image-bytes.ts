/** An image as the layer accounting needs it. */
export interface LayeredImage {
  id: string;
  /** Total bytes of the image's layers (`Size` from the engine). */
  size: number;
  /** Chain ids of its layers, bottom first (`chainIds` of src/clients/docker/chain-ids.ts). */
  chain: string[];
}

/**
 * Bytes freed by removing the images in `removed`: every layer no remaining image uses, counted once
 * (what the engine reports as reclaimed). The engine shows no per-layer size, only each image's total,
 * so a layer's size comes from the totals of images that end at it; where no image ends at a shared
 * layer, its prefix size is taken as the smallest total of the images on it, which makes the figure a
 * floor, never more than the truth. The same inputs always give the same figure.
 */
export function freedImageBytes(images: readonly LayeredImage[], removed: ReadonlySet<string>): number {
  const users = new Map<string, string[]>();
  const parentOf = new Map<string, string | undefined>();
  const known = new Map<string, number>();
  for (const image of images) {
    image.chain.forEach((node, i) => {
      const list = users.get(node);
      if (list) list.push(image.id);
      else users.set(node, [image.id]);
      parentOf.set(node, image.chain[i - 1]);
    });
    const top = image.chain[image.chain.length - 1];
    if (top !== undefined) known.set(top, Math.max(known.get(top) ?? 0, image.size));
  }
  const sizes = new Map(images.map((image) => [image.id, image.size]));
  const prefixSize = (node: string | undefined): number => {
    if (node === undefined) return 0;
    const exact = known.get(node);
    if (exact !== undefined) return exact;
    return Math.min(...(users.get(node) ?? []).map((id) => sizes.get(id) ?? 0));
  };
  let freed = 0;
  for (const [node, ids] of users) {
    if (!ids.every((id) => removed.has(id))) continue;
    freed += Math.max(0, prefixSize(node) - prefixSize(parentOf.get(node)));
  }
  return freed;
}
