import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** BullMQ Queue objects by name, sharing one connection, created on first use. */
export interface QueuePool {
  get: (name: string) => Queue;
  close: () => Promise<void>;
}

export function createQueuePool(connection: Redis, prefix: string): QueuePool {
  const queues = new Map<string, Queue>();
  return {
    get(name) {
      let queue = queues.get(name);
      if (!queue) {
        queue = new Queue(name, { connection, prefix });
        queues.set(name, queue);
      }
      return queue;
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
      queues.clear();
    },
  };
}
