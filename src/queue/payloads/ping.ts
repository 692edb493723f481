import { z } from 'zod';

export const name = 'ping';

export const payloadSchema = z.object({
  /** When the bot or CLI queued the ping (ms since epoch). */
  sentAt: z.number().int().nonnegative(),
});
export type Payload = z.infer<typeof payloadSchema>;
