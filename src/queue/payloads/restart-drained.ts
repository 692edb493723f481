import { z } from 'zod';
import { NO_RETRY } from './retry.js';

export const name = 'restart-drained';

export const payloadSchema = z.object({
  /** The host whose nix-daemon container restarts. */
  host: z.string().min(1),
  /** GitLab ids of that host's runners (from its registry entry's `runners`). */
  runnerIds: z.array(z.number().int().positive()).default([]),
  /** Longest wait for running jobs, and for the daemon to answer after the restart, in seconds. @defaultValue 600 */
  timeoutSeconds: z.number().int().min(1).max(86400).default(600),
  /** Pause between looks at the running jobs, in ms. @defaultValue 5000 */
  pollIntervalMs: z.number().int().min(10).max(60_000).default(5000),
  /** The command's id: a rerun after the bot died knows which pauses were its own. */
  requestId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,80}$/)
    .optional(),
});
export type Payload = z.infer<typeof payloadSchema>;

// Not retried: it pauses runners, restarts the daemon and unpauses; a retry would restart again.
export const retry = NO_RETRY;
