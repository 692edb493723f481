import { z } from 'zod';

export const name = 'pause-runners';

export const payloadSchema = z
  .object({
    /** GitLab ids of the runners to pause or resume. */
    runnerIds: z.array(z.number().int().positive()).min(1).max(500),
    /** true: pause (`pause`); false: resume (`resume`). */
    paused: z.boolean(),
    /** Why, for the runners' maintenance note and the card (one line). */
    reason: z.string().min(1).max(255).optional(),
    /** Who asked, named in the maintenance note. */
    requestedBy: z.string().min(1).max(100),
    /** Hosts that carry each runner (from the registry), for the card: pausing a shared runner stops it everywhere. */
    hostsOf: z.record(z.string(), z.array(z.string())).default({}),
  })
  .strict();
export type Payload = z.infer<typeof payloadSchema>;

/** `PUT /runners/:id` with the same values is idempotent: transient failures are retried. */
export const retry = { attempts: 3, backoffMs: 10_000 };
