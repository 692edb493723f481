import { z } from 'zod';

export const name = 'unregister-runner';

export const payloadSchema = z
  .object({
    host: z.string().min(1).max(253),
    runnerId: z.number().int().positive(),
    /** The entry's name in the host's config.toml. */
    runner: z.string().min(1).max(255),
    /** Say what would go and change nothing (needs no approval). */
    dryRun: z.boolean(),
    /** Other hosts whose config.toml has this runner too: it stops working there as well. */
    alsoOn: z.array(z.string().min(1).max(253)).max(1000).default([]),
  })
  .strict();
export type Payload = z.infer<typeof payloadSchema>;
