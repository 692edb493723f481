import type { Target } from '../commands/requests.js';
import { UserError } from '../errors.js';
import type { HostStatus } from '../queue/host-registry.js';

function notTrusted(host: HostStatus): string | undefined {
  switch (host.trust) {
    case 'enrolled':
      return undefined;
    case 'pending':
      return `${host.name} is not enrolled yet (key ${host.fingerprint}); an operator confirms that fingerprint on the host ("runnerops fingerprint") and enrols it with "enroll ${host.name}"`;
    case 'key-changed':
      return `${host.name} now presents key ${host.fingerprint ?? '(none)'}, not the enrolled ${host.enrolledFingerprint}; nothing runs there until an operator checks the host and enrols it again`;
    default:
      return `${host.name} publishes no valid signed entry; upgrade and restart its worker`;
  }
}

/**
 * Turns `<host|all>` into the hosts to run on: one known, enrolled host (alive or not: its queue keeps
 * the job until it comes back), or every live enrolled host. Unknown names get the list of known ones.
 */
export function resolveTarget(target: Target, hosts: HostStatus[]): string[] {
  if (target.kind === 'all') {
    const live = hosts.filter((h) => h.alive && h.trust === 'enrolled').map((h) => h.name);
    if (live.length === 0) {
      throw new UserError(
        hosts.length === 0
          ? 'no hosts are registered; start "runnerops worker" on a runner host'
          : hosts.some((h) => h.alive)
            ? 'no live host is enrolled; "hosts" shows the pending ones and their fingerprints'
            : 'no host has a fresh heartbeat; check the workers',
      );
    }
    return live;
  }
  return [requireHost(target.host, hosts).name];
}

/** A host by name, known and enrolled; anything else is a one-line refusal saying what to do. */
export function requireHost(name: string, hosts: HostStatus[], options: { enrolled?: boolean } = {}): HostStatus {
  const found = hosts.find((h) => h.name === name);
  if (!found) {
    const known = hosts.map((h) => h.name);
    throw new UserError(
      known.length === 0
        ? `unknown host "${name}"; no hosts are registered yet`
        : `unknown host "${name}"; known: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', …' : ''}`,
    );
  }
  const refusal = options.enrolled === false ? undefined : notTrusted(found);
  if (refusal) throw new UserError(refusal);
  return found;
}
