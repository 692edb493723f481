/** One runner token the expiry warning names. */
export interface ExpiringToken {
  host: string;
  runner: string;
  runnerId?: number;
  expiresAt: number;
  expired: boolean;
}

/** The rotate command a "Request rotation" button stands for. */
export function rotationCommand(token: Pick<ExpiringToken, 'host' | 'runner' | 'runnerId'>): string {
  return `rotate ${token.host} --runner ${token.runnerId ?? `"${token.runner}"`}`;
}
