/**
 * Indices of the `n` largest scores among `candidates` (or 0..count-1), largest first; ties go to
 * the lower index. A bounded min-heap: one pass, no full sort of a hundred thousand entries.
 */
export function selectTop(scores: ArrayLike<number>, n: number, candidates?: ArrayLike<number>): number[] {
  const total = candidates === undefined ? scores.length : candidates.length;
  const heap: number[] = [];
  // "a is smaller than b" for the heap: lower score, or equal score and higher index.
  const smaller = (a: number, b: number): boolean => scores[a]! < scores[b]! || (scores[a] === scores[b] && a > b);
  const siftDown = (from: number): void => {
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && smaller(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && smaller(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  if (n <= 0) return [];
  for (let k = 0; k < total; k++) {
    const index = candidates === undefined ? k : candidates[k]!;
    if (heap.length < n) {
      heap.push(index);
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!smaller(heap[i]!, heap[parent]!)) break;
        [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
        i = parent;
      }
    } else if (smaller(heap[0]!, index)) {
      heap[0] = index;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (smaller(a, b) ? 1 : smaller(b, a) ? -1 : 0));
}
