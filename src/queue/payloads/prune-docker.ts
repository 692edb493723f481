import { z } from 'zod';

export const name = 'prune-docker';

export const payloadSchema = z.object({
  /** List what would go and its size, remove nothing. @defaultValue false */
  dryRun: z.boolean().default(false),
  /** Keep objects created less than this many seconds ago (0: no age limit). @defaultValue 3600 */
  untilSeconds: z
    .number()
    .int()
    .min(0)
    .max(366 * 86400)
    .default(3600),
  /** Anonymous volumes, and gitlab-runner cache volumes older than `untilSeconds`. @defaultValue false */
  volumes: z.boolean().default(false),
  /** Named volumes too (the policy decides). @defaultValue false */
  namedVolumes: z.boolean().default(false),
  /** gitlab-runner cache volumes younger than `untilSeconds` too. @defaultValue false */
  youngCacheVolumes: z.boolean().default(false),
  /**
   * Untagged images, every unused image, none, or `lru`: unused images least recently used first (by
   * the worker's record of container use) until `targetFreePercent` / `targetFreeBytes` is free. @defaultValue 'dangling'
   */
  images: z.enum(['dangling', 'unused', 'none', 'lru']).default('dangling'),
  /** With `images: 'lru'`: the share of Docker's filesystem to have free afterwards. */
  targetFreePercent: z.number().min(1).max(95).optional(),
  /** With `images: 'lru'`: the free bytes to have on Docker's filesystem afterwards. */
  targetFreeBytes: z.number().int().min(1).optional(),
  /** Build cache (BuildKit) not used for `untilSeconds`. @defaultValue false */
  buildCache: z.boolean().default(false),
  /** Networks no container refers to. @defaultValue true */
  networks: z.boolean().default(true),
  /** Label that protects an object: `key=value`, or `key` for any value. @defaultValue 'runnerops.keep=true' */
  protectLabel: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*(=\S*)?$/, 'protectLabel must look like key=value')
    .default('runnerops.keep=true'),
  /** Removals in flight at once. @defaultValue 8 */
  concurrency: z.number().int().min(1).max(64).default(8),
});
export type Payload = z.infer<typeof payloadSchema>;
