import { z } from 'zod';

export const name = 'remove-runner';

export const payloadSchema = z
  .object({
    /** GitLab id of the runner whose entry goes (deleted in GitLab just before). */
    runnerId: z.number().int().positive(),
    /** Its name in config.toml, for the card. */
    runner: z.string().min(1).max(255),
  })
  .strict();
export type Payload = z.infer<typeof payloadSchema>;
