import { z } from 'zod';

export const name = 'gc-store';

export const payloadSchema = z.object({
  /** List what Nix's GC would delete (under its GC lock, as `nix-store --gc --print-dead`), delete nothing. @defaultValue false */
  dryRun: z.boolean().default(false),
  /** Stop after about this many NAR bytes of garbage (least recently registered first); absent: all garbage. */
  maxFreedBytes: z.number().int().min(1).optional(),
  /** Which store: as for store-usage (`auto`: the NIX_DAEMON_CONTAINER's when it runs one). @defaultValue 'auto' */
  store: z.enum(['auto', 'container', 'host']).default('auto'),
  /** Give up on one nix command after this many seconds. @defaultValue 3600 */
  timeoutSeconds: z.number().int().min(1).max(86400).default(3600),
});
export type Payload = z.infer<typeof payloadSchema>;
