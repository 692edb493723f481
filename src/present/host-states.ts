import type { HostStatus } from '../queue/host-registry.js';
import { ATTENTION_STATES, HOST_STATES, type HostState } from '../commands/host-states.js';

export { ATTENTION_STATES, HOST_STATES, type HostState };

/** How each state reads in a summary ("12 pending enrolment"). */
export const STATE_LABELS: Record<HostState, string> = {
  healthy: 'healthy',
  'key-changed': 'key changed',
  unsigned: 'unsigned',
  pending: 'pending enrolment',
  silent: 'silent',
  daemon: 'nix-daemon unhealthy',
  disk: 'low disk',
  expiring: 'token expiring',
};

/** Free bytes below which Docker's data root or the Nix store counts as low (the registry holds free space, not totals). */
export const LOW_DISK_BYTES = 10 * 1024 ** 3;

export interface HostStateOptions {
  /** @defaultValue Date.now() */
  now?: number;
  /** A runner token expiring within this many seconds (or expired) needs attention. @defaultValue 7 days (the policy's tokenExpiry.warnWithin default) */
  tokenWarnSeconds?: number;
  /** @defaultValue LOW_DISK_BYTES */
  lowDiskBytes?: number;
}

/** Every state that applies to a host, most urgent first; `['healthy']` when none does. */
export function hostStates(host: HostStatus, options: HostStateOptions = {}): HostState[] {
  const now = options.now ?? Date.now();
  const warnMs = (options.tokenWarnSeconds ?? 7 * 86400) * 1000;
  const low = options.lowDiskBytes ?? LOW_DISK_BYTES;
  const states: HostState[] = [];
  if (host.trust === 'key-changed' || host.trust === 'unsigned' || host.trust === 'pending') states.push(host.trust);
  if (!host.alive) states.push('silent');
  if (host.daemon?.healthy === false) states.push('daemon');
  const free = [host.disk?.dockerFreeBytes, host.disk?.nixFreeBytes].filter((b): b is number => b !== undefined);
  if (free.some((b) => b < low)) states.push('disk');
  const expiring = (host.runners ?? []).some((r) => {
    const at = r.tokenExpiresAt === undefined ? NaN : Date.parse(r.tokenExpiresAt);
    return !Number.isNaN(at) && at - now < warnMs;
  });
  if (expiring) states.push('expiring');
  return states.length > 0 ? states : ['healthy'];
}

/** A host with its states, for sorting and showing. */
export interface ClassifiedHost {
  host: HostStatus;
  states: HostState[];
}

/** The hosts with their states; those that need attention first (most urgent state, then name), then the healthy by name. */
export function classifyHosts(hosts: HostStatus[], options: HostStateOptions = {}): ClassifiedHost[] {
  const rank = (state: HostState): number => (state === 'healthy' ? ATTENTION_STATES.length : ATTENTION_STATES.indexOf(state));
  return hosts
    .map((host) => ({ host, states: hostStates(host, options) }))
    .sort((a, b) => rank(a.states[0]!) - rank(b.states[0]!) || (a.host.name < b.host.name ? -1 : a.host.name > b.host.name ? 1 : 0));
}

/** Whether a host needs a person. */
export function needsAttention(host: ClassifiedHost): boolean {
  return host.states[0] !== 'healthy';
}

/** "1,000 hosts: 930 healthy, 40 silent, 12 pending enrolment, ..." (states with no host left out). */
export function summaryLine(hosts: ClassifiedHost[]): string {
  const counts = new Map<HostState, number>();
  for (const { states } of hosts) for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
  const parts = HOST_STATES.filter((s) => counts.has(s)).map((s) => `${formatNumber(counts.get(s)!)} ${STATE_LABELS[s]}`);
  return `${formatNumber(hosts.length)} host${hosts.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/** 1000 -> "1,000". */
export function formatNumber(n: number): string {
  return n.toLocaleString('en-US');
}
