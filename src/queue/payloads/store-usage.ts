import { z } from 'zod';

export const name = 'store-usage';

export const payloadSchema = z.object({
  /** How many largest paths and largest closures to list (`/runner store <host> --top N`). */
  top: z.number().int().min(1).max(100).default(10),
  /**
   * Which store: `auto` (the NIX_DAEMON_CONTAINER's store when it runs one, as in the seed's second
   * setup, else the host's), `container`, or `host` (the host's own, reported separately).
   */
  store: z.enum(['auto', 'container', 'host']).optional(),
});
export type Payload = z.infer<typeof payloadSchema>;
