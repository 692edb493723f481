import { z } from 'zod';
import { NO_RETRY } from './retry.js';

export const name = 'revive-runner-token';

export const payloadSchema = z.object({
  host: z.string().min(1),
  /** GitLab id of the runner whose token expired (the reset goes by id). */
  runnerId: z.number().int().positive(),
  /** The command's id; the host keeps the revived token under it until it is in place. */
  requestId: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/),
});
export type Payload = z.infer<typeof payloadSchema>;

// Not retried: a second reset by id would kill the token the first one sealed for the host.
export const retry = NO_RETRY;
