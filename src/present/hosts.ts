import type { HostStatus } from '../queue/host-registry.js';
import { formatAge, formatBytes, table } from './format.js';

function expiry(iso: string | undefined, now: number): string {
  if (!iso) return 'no expiry';
  const left = (Date.parse(iso) - now) / 1000;
  if (Number.isNaN(left)) return 'expiry unknown';
  if (left <= 0) return 'EXPIRED';
  return `expires in ${left < 172800 ? `${Math.round(left / 3600)}h` : `${Math.round(left / 86400)}d`}`;
}

/** `hosts`: one line per host with heartbeat age (expired ones marked), versions, disk and runners. */
export function hostsText(hosts: HostStatus[], now = Date.now()): string {
  if (hosts.length === 0) return 'no hosts are registered; start "runnerops worker" on a runner host';
  const rows = [['HOST', 'HEARTBEAT', 'VERSIONS', 'DISK FREE', 'RUNNERS']];
  for (const host of hosts) {
    const versions = [`runnerops ${host.versions.runnerops}`, host.versions.docker && `docker ${host.versions.docker}`, host.versions.nix && `nix ${host.versions.nix}`]
      .filter(Boolean)
      .join(', ');
    const disk = host.disk?.dockerFreeBytes !== undefined ? formatBytes(host.disk.dockerFreeBytes) : '-';
    const runners = (host.runners ?? []).map((r) => `${r.name}${r.id ? ` #${r.id}` : ''} (${expiry(r.tokenExpiresAt, now)})`).join('; ') || '-';
    rows.push([host.name, `${formatAge(host.ageSeconds)}${host.alive ? '' : ' (EXPIRED)'}`, versions, disk, runners]);
  }
  const dead = hosts.filter((h) => !h.alive).length;
  const footer = `${hosts.length} host${hosts.length === 1 ? '' : 's'}, ${hosts.length - dead} alive${dead ? `, ${dead} with an expired heartbeat` : ''}`;
  return [table(rows), footer, ...trustLines(hosts)].join('\n');
}

/** Hosts nothing runs on until a person acts: pending enrolment (with the fingerprint to compare), changed keys. */
export function trustLines(hosts: HostStatus[]): string[] {
  return hosts.flatMap((h) => {
    switch (h.trust) {
      case 'pending':
        return [`pending enrolment: ${h.name} presents ${h.fingerprint}; compare it with "runnerops fingerprint" on the host, then "enroll ${h.name}"`];
      case 'key-changed':
        return [`KEY CHANGED: ${h.name} presents ${h.fingerprint ?? 'no valid key'}, enrolled ${h.enrolledFingerprint}; nothing runs there until it is enrolled again`];
      case 'unsigned':
        return [`no signed entry: ${h.name} (an older worker, or not written by a worker); nothing runs there`];
      default:
        return [];
    }
  });
}
