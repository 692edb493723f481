import { z } from 'zod';

export const name = 'cleanup-stale-runners';

const staleRunner = z
  .object({
    id: z.number().int().positive(),
    description: z.string().max(1024),
    type: z.string().max(40),
    contactedAt: z.string().nullable(),
    createdAt: z.string().nullable(),
  })
  .strict();

export const payloadSchema = z
  .object({
    /** Runners whose last contact is before this time (ms since epoch) are stale enough. */
    cutoff: z.number().int().positive(),
    /** List what would go and delete nothing. */
    dryRun: z.boolean(),
    /** The list the approval froze: exactly these (and only these) are deleted. Required unless dryRun. */
    runners: z.array(staleRunner).max(10_000).optional(),
  })
  .strict()
  .refine((p) => p.dryRun || p.runners !== undefined, { message: 'a cleanup that deletes needs the approved list of runners', path: ['runners'] });
export type Payload = z.infer<typeof payloadSchema>;

/** Each deletion is idempotent (404 counts as deleted): transient failures are retried. */
export const retry = { attempts: 3, backoffMs: 10_000 };

/** Up to an hour for a long list. */
export const timeoutMs = 60 * 60_000;
