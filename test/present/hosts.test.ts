import { describe, expect, it } from 'vitest';
import { ATTENTION_SHOWN, HOSTS_PER_PAGE, hostsText } from '../../src/present/hosts.js';
import { LIMITS, codeSections } from '../../src/present/blocks.js';
import { FLEET_NOW, fleetHost, generateFleet } from '../helpers/fleet-hosts.js';

const fleet = generateFleet(1000);
const at = { now: FLEET_NOW };

/** What Slack would get for the answer: code-block sections, at most LIMITS.blocksPerMessage of them for one message. */
function expectOneSlackMessage(text: string): void {
  const blocks = codeSections(text);
  expect(blocks.length).toBeLessThanOrEqual(LIMITS.blocksPerMessage);
  for (const block of blocks) expect((block as { text: { text: string } }).text.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
  expect(text.length).toBeLessThanOrEqual(LIMITS.messageText);
}

describe('hostsText', () => {
  it('shows a small fleet as it always did: every host, the count alive, and the hosts waiting for enrolment', () => {
    const hosts = [
      fleetHost('ci-1', { disk: { dockerFreeBytes: 50 * 1024 ** 3 }, runners: [{ name: 'nix', id: 7, tokenExpiresAt: '2026-06-20T12:00:00Z' }] }),
      fleetHost('ci-2', { ageSeconds: 400, alive: false, disk: {}, runners: [] }),
      fleetHost('ci-3', { ageSeconds: 2, trust: 'pending', fingerprint: 'SHA256:abc', disk: {}, runners: [] }),
    ];
    expect(hostsText(hosts, at)).toBe(
      [
        'HOST  HEARTBEAT         VERSIONS                                    DISK FREE  RUNNERS',
        'ci-1  3s ago            runnerops 0.1.0, docker 27.5.1, nix 2.26.3  50 GiB     nix #7 (expires in 19d)',
        'ci-2  7m ago (EXPIRED)  runnerops 0.1.0, docker 27.5.1, nix 2.26.3  -          -',
        'ci-3  2s ago            runnerops 0.1.0, docker 27.5.1, nix 2.26.3  -          -',
        '3 hosts, 2 alive, 1 with an expired heartbeat',
        'pending enrolment: ci-3 presents SHA256:abc; compare it with "runnerops fingerprint" on the host, then "enroll ci-3"',
      ].join('\n'),
    );
  });

  it('says how to add a host when none is registered', () => {
    expect(hostsText([], at)).toBe('no hosts are registered; start "runnerops worker" on a runner host');
  });

  it('gives 1,000 hosts in one Slack message: the counts first, then the most urgent hosts, then how to see the rest', () => {
    const text = hostsText(fleet, at);
    expectOneSlackMessage(text);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^1,000 hosts: 899 healthy, /);
    expect(lines[1]).toBe(`need attention (the ${ATTENTION_SHOWN} most urgent of 101):`);
    const rows = lines.filter((l) => /^ci-\d{4} /.test(l));
    expect(rows).toHaveLength(ATTENTION_SHOWN);
    expect(rows.slice(0, 4).every((r) => r.includes('key changed'))).toBe(true);
    expect(rows.some((r) => / healthy /.test(r))).toBe(false);
    expect(text).toContain('pending enrolment: ci-0097 presents SHA256:');
    expect(lines.at(-1)).toBe(
      '"/runner hosts attention --page 2" for the next hosts that need attention, "/runner hosts all" for every host (50 a page), "/runner hosts <state|prefix>" for some (states: healthy, key-changed, unsigned, pending, silent, daemon, disk, expiring)',
    );
  });

  it('writes the commands to see more the way the terminal takes them', () => {
    expect(
      hostsText(fleet, { ...at, commandPrefix: 'runnerops' })
        .split('\n')
        .at(-1),
    ).toMatch(/^"runnerops hosts attention --page 2" .* "runnerops hosts all"/);
  });

  it('lists every host a page at a time, each page in one Slack message, with the way to the next page', () => {
    const first = hostsText(fleet, { ...at, filter: { kind: 'all' } });
    expectOneSlackMessage(first);
    expect(first.split('\n').filter((l) => /^ci-\d{4} /.test(l))).toHaveLength(HOSTS_PER_PAGE);
    expect(first.split('\n').at(-1)).toBe('hosts 1-50 of 1,000 (page 1 of 20); "/runner hosts all --page 2" for the next 50');
    const last = hostsText(fleet, { ...at, filter: { kind: 'all' }, page: 20 });
    expectOneSlackMessage(last);
    expect(last.split('\n').at(-1)).toBe('hosts 951-1,000 of 1,000 (page 20 of 20)');
    expect(last).toContain('ci-0999');
  });

  it('lists the hosts in one state, or whose names start with a prefix', () => {
    const silent = hostsText(fleet, { ...at, filter: { kind: 'state', state: 'silent' } });
    const rows = silent.split('\n').filter((l) => /^ci-\d{4} /.test(l));
    expect(rows).toHaveLength(20);
    expect(rows.every((r) => r.includes('(EXPIRED)'))).toBe(true);
    expect(silent.split('\n').at(-1)).toBe('hosts 1-20 of 20 matching "silent" (page 1 of 1)');
    const prefixed = hostsText(fleet, { ...at, filter: { kind: 'prefix', prefix: 'ci-01' }, page: 2 });
    expect(prefixed.split('\n').at(-1)).toBe('hosts 51-100 of 100 matching "ci-01" (page 2 of 2)');
  });

  it('lists the hosts that need attention page by page, page 2 starting where plain hosts stops', () => {
    const plain = hostsText(fleet, at)
      .split('\n')
      .filter((l) => /^ci-\d{4} /.test(l));
    const page = hostsText(fleet, { ...at, filter: { kind: 'attention' }, page: 2 });
    expectOneSlackMessage(page);
    const rows = page.split('\n').filter((l) => /^ci-\d{4} /.test(l));
    expect(rows).toHaveLength(ATTENTION_SHOWN);
    expect(rows.some((r) => plain.includes(r))).toBe(false);
    expect(page.split('\n').at(-1)).toBe('hosts 26-50 of 101 matching "attention" (page 2 of 5); "/runner hosts attention --page 3" for the next 25');
  });

  it('says so when no host matches, and how to see them all', () => {
    expect(
      hostsText(fleet, { ...at, filter: { kind: 'prefix', prefix: 'gpu-' } })
        .split('\n')
        .at(-1),
    ).toBe('no host matches "gpu-"; "/runner hosts all" lists every host');
  });
});
