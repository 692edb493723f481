import { z } from 'zod';

export const name = 'list-runners';

export const payloadSchema = z
  .object({
    /** Only this host's runners and mismatches; absent: the whole fleet (`runners all`). */
    host: z.string().min(1).max(253).optional(),
  })
  .strict();
export type Payload = z.infer<typeof payloadSchema>;

/** Listing and reading every runner is idempotent: transient GitLab failures are retried by the queue. */
export const retry = { attempts: 3, backoffMs: 10_000 };
