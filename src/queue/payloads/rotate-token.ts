import { z } from 'zod';

export const name = 'rotate-token';

export const payloadSchema = z.preprocess(
  // The planner names the command id `requestId`; both names are accepted.
  (input) =>
    input !== null && typeof input === 'object' && !('jobId' in input) && 'requestId' in input
      ? { ...input, jobId: (input as { requestId: unknown }).requestId }
      : input,
  z.object({
    /** Id of this rotation (the command id): a retry or rerun with the same id never resets twice. */
    jobId: z.string().min(1).max(200),
    /** Runner name or GitLab id on this host; optional when the host has one runner. */
    runner: z.string().min(1).max(200).optional(),
    /**
     * An expired token revived by the bot (reset by runner id with its GitLab token): the new token,
     * sealed to this host's key, to write in place of the dead one. Never a plaintext token.
     */
    revived: z
      .object({
        sealedToken: z.string().min(1),
        sealedTo: z.string().min(1),
        tokenExpiresAt: z.string().nullable(),
      })
      .optional(),
  }),
);
export type Payload = z.infer<typeof payloadSchema>;

/** Transient failures (429, 5xx, network) are retried by the queue; the recovery file makes that safe. */
export const retry = { attempts: 4, backoffMs: 30_000 };
