import { describe, expect, it } from 'vitest';
import { classifyHosts, hostStates, summaryLine } from '../../src/present/host-states.js';
import { FLEET_NOW, fleetHost, generateFleet } from '../helpers/fleet-hosts.js';

const at = { now: FLEET_NOW };

describe('hostStates', () => {
  it('calls a live, enrolled host with room and distant token expiry healthy', () => {
    expect(hostStates(fleetHost('ci-1'), at)).toEqual(['healthy']);
  });

  it('lists every state that applies, the one that stops everything first', () => {
    const host = fleetHost('ci-1', {
      trust: 'pending',
      alive: false,
      daemon: { healthy: false, at: FLEET_NOW },
      disk: { nixFreeBytes: 1024 ** 3 },
      runners: [{ name: 'nix', tokenExpiresAt: '2026-06-02T12:00:00Z' }],
    });
    expect(hostStates(host, at)).toEqual(['pending', 'silent', 'daemon', 'disk', 'expiring']);
  });

  it('counts an expired token and one inside the warning window as expiring, and a token without expiry as fine', () => {
    const expired = fleetHost('a', { runners: [{ name: 'x', tokenExpiresAt: '2026-01-01T00:00:00Z' }] });
    const soon = fleetHost('b', { runners: [{ name: 'x', tokenExpiresAt: '2026-06-05T00:00:00Z' }] });
    const never = fleetHost('c', { runners: [{ name: 'x' }] });
    expect(hostStates(expired, at)).toEqual(['expiring']);
    expect(hostStates(soon, at)).toEqual(['expiring']);
    expect(hostStates(soon, { ...at, tokenWarnSeconds: 86400 })).toEqual(['healthy']);
    expect(hostStates(never, at)).toEqual(['healthy']);
  });
});

describe('classifyHosts', () => {
  it('puts the hosts that need attention first, most urgent state then name, and the healthy after them by name', () => {
    const names = classifyHosts(
      [
        fleetHost('b-healthy'),
        fleetHost('z-silent', { alive: false }),
        fleetHost('a-healthy'),
        fleetHost('y-changed', { trust: 'key-changed' }),
        fleetHost('c-silent', { alive: false }),
      ],
      at,
    ).map((h) => h.host.name);
    expect(names).toEqual(['y-changed', 'c-silent', 'z-silent', 'a-healthy', 'b-healthy']);
  });
});

describe('summaryLine', () => {
  it('counts the hosts of a 1,000-host fleet by state, leaving out states no host is in', () => {
    expect(summaryLine(classifyHosts(generateFleet(1000), at))).toBe(
      '1,000 hosts: 899 healthy, 4 key changed, 10 pending enrolment, 20 silent, 13 nix-daemon unhealthy, 30 low disk, 24 token expiring',
    );
  });
});
