/** In-process locks by group name: jobs of one group run one at a time on this host. */
export function createExclusiveLocks(): <T>(group: string | undefined, work: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return async (group, work) => {
    if (!group) return work();
    const previous = tails.get(group) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(work);
    tails.set(group, current);
    try {
      return await current;
    } finally {
      if (tails.get(group) === current) tails.delete(group);
    }
  };
}
