import type { KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/present/blocks.js';
import { HOME_ATTENTION_SHOWN, hostsHomeBlocks } from '../../src/present/hosts-home-blocks.js';
import { FLEET_NOW, fleetHost, generateFleet } from '../helpers/fleet-hosts.js';

const at = { now: FLEET_NOW };

function texts(blocks: KnownBlock[]): string[] {
  return blocks.map((b) => {
    if (b.type === 'section') return (b as { text: { text: string } }).text.text;
    if (b.type === 'context') return (b as { elements: Array<{ text: string }> }).elements.map((e) => e.text).join('');
    return '';
  });
}

describe('hostsHomeBlocks', () => {
  it('shows every host of a small fleet as before, then the ones waiting for a person', () => {
    const blocks = hostsHomeBlocks([fleetHost('ci-1'), fleetHost('ci-2', { alive: false, ageSeconds: 400, trust: 'pending', fingerprint: 'SHA256:abc' })], at);
    expect(texts(blocks)).toEqual([
      [
        ':large_green_circle: *ci-1* heartbeat 3s ago, docker free 200 GiB, nix free 300 GiB, store 40 GiB (12 GiB garbage), nix-daemon healthy 60s ago',
        ':red_circle: *ci-2* heartbeat 7m ago (expired), docker free 200 GiB, nix free 300 GiB, store 40 GiB (12 GiB garbage), nix-daemon healthy 60s ago',
      ].join('\n'),
      ':warning: pending enrolment: ci-2 presents SHA256:abc; compare it with "runnerops fingerprint" on the host, then "enroll ci-2"',
    ]);
  });

  it('says how to add the first host', () => {
    expect(texts(hostsHomeBlocks([], at))).toEqual(['No hosts registered yet: start `runnerops worker` on a runner host.']);
  });

  it('keeps 1,000 hosts to a few blocks within the section limit: the counts, the most urgent hosts, and where the rest are', () => {
    const blocks = hostsHomeBlocks(generateFleet(1000), at);
    expect(blocks.length).toBeLessThanOrEqual(8);
    expect(JSON.stringify(blocks).length).toBeLessThan(20_000);
    const shown = texts(blocks);
    for (const text of shown) expect(text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    expect(shown[0]).toBe(
      '*1,000 hosts: 899 healthy, 4 key changed, 10 pending enrolment, 20 silent, 13 nix-daemon unhealthy, 30 low disk, 24 token expiring*',
    );
    const lines = shown
      .join('\n')
      .split('\n')
      .filter((l) => /\*ci-\d{4}\*/.test(l) && !l.startsWith(':warning:'));
    expect(lines).toHaveLength(HOME_ATTENTION_SHOWN);
    expect(lines[0]).toMatch(/\*ci-0211\*.* — key changed$/);
    expect(lines.some((l) => l.endsWith('— healthy'))).toBe(false);
    expect(shown.at(-1)).toBe('81 more need attention (/runner hosts attention); every host: /runner hosts all, or /runner hosts &lt;state|prefix&gt;');
  });

  it('says nothing needs attention when a large fleet is all healthy', () => {
    const blocks = hostsHomeBlocks(
      Array.from({ length: 30 }, (_, i) => fleetHost(`ci-${i}`)),
      at,
    );
    expect(texts(blocks)).toEqual(['*30 hosts: 30 healthy*', 'Nothing needs attention; every host: /runner hosts all, or /runner hosts &lt;state|prefix&gt;']);
  });
});
