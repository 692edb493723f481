import type { ExpiringToken } from '../present/token-expiry.js';
import type { HostStatus } from '../queue/host-registry.js';

/** Runner tokens that expire within `withinSeconds` (or already did), soonest first. */
export function findExpiringTokens(hosts: HostStatus[], now: number, withinSeconds: number): ExpiringToken[] {
  const found: ExpiringToken[] = [];
  for (const host of hosts) {
    for (const runner of host.runners ?? []) {
      const at = runner.tokenExpiresAt ? Date.parse(runner.tokenExpiresAt) : NaN;
      if (Number.isNaN(at) || at - now > withinSeconds * 1000) continue;
      found.push({ host: host.name, runner: runner.name, ...(runner.id !== undefined ? { runnerId: runner.id } : {}), expiresAt: at, expired: at <= now });
    }
  }
  return found.sort((a, b) => a.expiresAt - b.expiresAt);
}
