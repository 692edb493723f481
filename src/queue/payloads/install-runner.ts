import { z } from 'zod';

export const name = 'install-runner';

export const payloadSchema = z.object({
  /** The new runner's glrt- token, sealed to this host's public key (base64). Never a plaintext token. */
  sealedToken: z.string().min(1),
  /** Fingerprint of the key it was sealed to, so a key mismatch is named before opening. */
  sealedTo: z.string().min(1),
  runnerId: z.number().int().positive(),
  /** Runner name in config.toml (and the token file / TOKEN_<NAME> variable). */
  name: z.string().min(1).max(255),
  /** GitLab base URL the runner was created on; the entry's `url`. */
  gitlabUrl: z.string().url(),
  /** RFC 3339 from GitLab's create answer; the host writes what GitLab's verify says. */
  tokenExpiresAt: z.string().datetime({ offset: true }).nullable(),
});
export type Payload = z.infer<typeof payloadSchema>;
