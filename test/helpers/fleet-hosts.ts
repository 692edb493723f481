import type { HostStatus } from '../../src/queue/host-registry.js';

/** The moment every generated fleet is seen at. */
export const FLEET_NOW = Date.parse('2026-06-01T12:00:00Z');

/** One registered host as the bot sees it: alive, enrolled, plenty of disk, tokens far from expiry. */
export function fleetHost(name: string, fields: Partial<HostStatus> = {}): HostStatus {
  return {
    name,
    versions: { runnerops: '0.1.0', docker: '27.5.1', nix: '2.26.3' },
    labels: {},
    publicKey: 'key',
    startedAt: FLEET_NOW - 3_600_000,
    lastHeartbeat: FLEET_NOW - 3000,
    heartbeatSeconds: 5,
    ageSeconds: 3,
    alive: true,
    trust: 'enrolled',
    disk: { dockerFreeBytes: 200 * 1024 ** 3, nixFreeBytes: 300 * 1024 ** 3 },
    store: { totalNarBytes: 40 * 1024 ** 3, garbageBytes: 12 * 1024 ** 3, at: FLEET_NOW - 60_000 },
    daemon: { healthy: true, at: FLEET_NOW - 60_000 },
    runners: [
      { name: 'nix', id: 1, tokenExpiresAt: '2027-01-01T00:00:00Z' },
      { name: 'docker', id: 2, tokenExpiresAt: '2027-01-01T00:00:00Z' },
    ],
    ...fields,
  };
}

/**
 * `count` hosts named ci-0001... in random order, a few in every state: every 50th silent, every 97th
 * pending enrolment, every 211th with a changed key, every 33rd low on disk, every 41st with a token
 * expiring in 2 days, every 73rd with an unhealthy nix-daemon. Runner names carry `&<>` so lengths are
 * measured after escaping.
 */
export function generateFleet(count: number): HostStatus[] {
  const hosts: HostStatus[] = [];
  for (let i = 1; i <= count; i++) {
    const fields: Partial<HostStatus> = {
      runners: [
        { name: 'nix & <docker>', id: 2 * i, tokenExpiresAt: i % 41 === 0 ? '2026-06-03T12:00:00Z' : '2027-01-01T00:00:00Z' },
        { name: 'shell', id: 2 * i + 1 },
        { name: 'spare-1', id: 3 * count + i },
        { name: 'spare-2', id: 4 * count + i },
      ],
    };
    if (i % 50 === 0) Object.assign(fields, { alive: false, ageSeconds: 3600 });
    if (i % 97 === 0) Object.assign(fields, { trust: 'pending', fingerprint: `SHA256:${'p'.repeat(39)}${String(i).padStart(4, '0')}` });
    if (i % 211 === 0)
      Object.assign(fields, { trust: 'key-changed', fingerprint: `SHA256:${'n'.repeat(43)}`, enrolledFingerprint: `SHA256:${'o'.repeat(43)}` });
    if (i % 33 === 0) fields.disk = { dockerFreeBytes: 2 * 1024 ** 3, nixFreeBytes: 300 * 1024 ** 3 };
    if (i % 73 === 0) fields.daemon = { healthy: false, at: FLEET_NOW - 60_000 };
    hosts.push(fleetHost(`ci-${String(i).padStart(4, '0')}`, fields));
  }
  // Registry order is not name order.
  return hosts.sort((a, b) => ((a.name.charCodeAt(6) * 7919) % 13) - ((b.name.charCodeAt(6) * 7919) % 13) || b.name.localeCompare(a.name));
}
