import { z } from 'zod';
import { NO_RETRY } from './retry.js';

export const name = 'register-runner';

export const payloadSchema = z
  .object({
    host: z.string().min(1),
    type: z.enum(['instance', 'group', 'project']),
    groupId: z.number().int().positive().optional(),
    projectId: z.number().int().positive().optional(),
    description: z.string().min(1).max(255).optional(),
    tags: z.array(z.string().min(1)).default([]),
    untagged: z.boolean().default(false),
    paused: z.boolean().default(false),
    /** The command's id: a rerun after the bot died finds the runner the first run created. */
    requestId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,80}$/)
      .optional(),
    /** How long to wait for gitlab-runner on the host to ask GitLab for jobs with the new token, in seconds. @defaultValue 15 */
    pickupSeconds: z.number().int().min(0).max(600).default(15),
  })
  .refine((p) => p.type !== 'group' || p.groupId !== undefined, { message: '--type group needs --group ID', path: ['groupId'] })
  .refine((p) => p.type !== 'project' || p.projectId !== undefined, { message: '--type project needs --project ID', path: ['projectId'] });
export type Payload = z.infer<typeof payloadSchema>;

// Not retried: a second run after a failure could create a second runner in GitLab.
export const retry = NO_RETRY;
