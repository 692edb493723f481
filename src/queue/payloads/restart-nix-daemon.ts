import { z } from 'zod';
import { NO_RETRY } from './retry.js';

export const name = 'restart-nix-daemon';

export const payloadSchema = z.object({
  /** How long to wait for the daemon to answer after the restart, in seconds. @defaultValue 600 */
  timeoutSeconds: z.number().int().min(1).max(86400).default(600),
  /** Seconds Docker gives the daemon to stop before killing it. @defaultValue 10 */
  stopTimeoutSeconds: z.number().int().min(0).max(600).default(10),
});
export type Payload = z.infer<typeof payloadSchema>;

// Not retried: a second restart would cut the builds of the jobs that started after the first.
export const retry = NO_RETRY;
