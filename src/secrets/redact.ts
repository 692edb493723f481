/**
 * Token shapes runnerops handles: GitLab runner tokens (glrt-), personal/project access tokens (glpat-),
 * legacy registration/runner tokens (GR1348941...), Slack tokens (xox?-, xapp-).
 */
const TOKEN_PATTERN = /\b(glrt-|glpat-|glcbt-|GR1348941|xox[abpr]-|xapp-)[A-Za-z0-9._-]{6,}/g;

/** Masks anything that looks like a token, keeping its prefix so a reader knows what kind it was. */
export function redact(text: string): string {
  return text.replace(TOKEN_PATTERN, (_m, prefix: string) => `${prefix}[REDACTED]`);
}
